"""The daemon's jobs: what runs on a schedule, and the lease-guarded runner that runs each once per beat."""
