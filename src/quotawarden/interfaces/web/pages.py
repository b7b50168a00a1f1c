"""The dashboard's pages: each one asks a view module for its data, adds chart specs, renders a template."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from quotawarden.interfaces.web import auth

if TYPE_CHECKING:
    from jinja2 import Environment

    from quotawarden.app.service import Service

NAV = [("overview", "Overview"), ("team", "Team"), ("costs", "Costs"), ("fairness", "Fairness"),
       ("alerts", "Alerts"), ("audit", "Audit")]
PATHS = {"overview": "/", "account": "/accounts/{account_id}", "costs": "/costs", "fairness": "/fairness",
         "team": "/team", "alerts": "/alerts", "ack": "/alerts/{alert_id}/ack", "audit": "/audit",
         "audit_download": "/audit/latest.{fmt}"}
STATIC_PREFIX = "/static/qw"
REFRESH_S = 30


def _usd(v: Any) -> str:
    return "-" if v is None else f"${float(v):,.2f}"


def _big(v: Any) -> str:
    v = float(v or 0)
    return f"{v / 1e6:.1f}M" if v >= 1e6 else f"{v / 1e3:.0f}k" if v >= 1e4 else f"{v:,.0f}"


def _clock(v: Any) -> str:
    from quotawarden.interfaces.views._common import parse_iso

    at = parse_iso(v) if isinstance(v, str) else v
    return "-" if at is None else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def environment() -> Environment:
    from jinja2 import Environment, PackageLoader, select_autoescape

    from quotawarden.interfaces.web import svg

    env = Environment(loader=PackageLoader("quotawarden.interfaces.web", "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    env.filters.update(usd=_usd, big=_big, clock=_clock)
    env.globals.update(sparkline=svg.sparkline, capacity_chart=svg.capacity_chart)
    return env


def lazy_environment() -> Callable[[], Environment]:
    """:func:`environment`, built by the first call of what this returns (the first page: Jinja, the views and
    the templates are loaded then, not by a daemon nobody browses), the same one after."""
    made: list[Environment] = []

    def get() -> Environment:
        if not made:
            made.append(environment())
        return made[0]

    return get


def render(env: Environment, svc: Service, request: Request, template: str, name: str, title: str,
           **ctx: Any) -> str:
    """A template with what every page shares: the navigation, links under the root path, the refresh period."""
    root = request.scope.get("root_path", "")
    until: Callable[[Any], str] = lambda v: _until(v, svc.now())  # noqa: E731
    env.filters["until"] = until
    return env.get_template(template).render(
        page=name, title=title, nav=NAV, refresh=REFRESH_S, generated_at=svc.now().isoformat(),
        csrf=auth.csrf_token(request, svc),
        url=lambda n, **kw: root + PATHS[n].format(**kw), static=lambda p: f"{root}{STATIC_PREFIX}/{p}", **ctx)


def make_router(svc: Service) -> APIRouter:
    env = lazy_environment()

    def gate(request: Request) -> None:
        auth.check(request, svc)

    router = APIRouter(include_in_schema=False, dependencies=[Depends(gate)])

    def page(request: Request, template: str, name: str, title: str, **ctx: Any) -> HTMLResponse:
        html = render(env(), svc, request, template, name, title, **ctx)
        response = HTMLResponse(html, headers={"Cache-Control": "no-store"})
        if token := request.query_params.get("token"):  # already checked: keep it for the assets and refreshes
            root = request.scope.get("root_path", "")
            response.set_cookie(auth.COOKIE, token, httponly=True, samesite="strict", path=root or "/")
        return response

    @router.get(PATHS["overview"], response_class=HTMLResponse)
    def overview(request: Request) -> HTMLResponse:
        from quotawarden.interfaces.views import overview as overview_v

        return page(request, "overview.html", "overview", "Overview", data=overview_v.overview(svc))

    @router.get(PATHS["account"].replace("}", ":path}"), response_class=HTMLResponse)  # a seat's: alice/max
    def account(request: Request, account_id: str, range: str = Query("7d")) -> HTMLResponse:
        from quotawarden.interfaces.views import account as account_v
        from quotawarden.interfaces.views import alerts as alerts_v

        try:
            data = account_v.detail(svc, account_id, range)
        except alerts_v.NotFound as exc:
            raise HTTPException(404, str(exc)) from None
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        return page(request, "account.html", "account", account_id, data=data, ranges=list(account_v.RANGES),
                    windows={w["name"]: w for w in data["account"]["windows"]},
                    util_chart=util_chart(data, svc), source_chart=source_chart(data))

    @router.get(PATHS["team"], response_class=HTMLResponse)
    def team(request: Request, days: int = Query(30, ge=1, le=366)) -> HTMLResponse:
        from quotawarden.analysis.team import team_json

        return page(request, "team.html", "team", "Team", data=team_json(svc.team(None, days)), days=days)

    @router.get(PATHS["costs"], response_class=HTMLResponse)
    def costs(request: Request, period: str = Query("day"), days: int = Query(30, ge=1, le=366)) -> HTMLResponse:
        from quotawarden.interfaces.views import money as money_v

        try:
            data = money_v.breakdown(svc, days, period)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        labels = [r["bucket"][5:] if period == "day" else r["bucket"] for r in data["series"]]
        series = {"type": "bar", "yFormat": "usd", "categories": labels,
                  "stacks": [{"name": "cost", "values": [r["cost"] or 0 for r in data["series"]]}],
                  "label": f"Cost per {period} over {days} days"}
        dims = [("provider", "provider"), ("model", "model"), ("project", "project"), ("consumer", "consumer")]
        return page(request, "costs.html", "costs", "Costs", data=data, days=days, periods=money_v.PERIODS,
                    forecast=money_v.forecast(svc), budgets=money_v.budgets(svc), series_chart=series, dims=dims)

    @router.get(PATHS["fairness"], response_class=HTMLResponse)
    def fairness(request: Request, days: int = Query(7, ge=1, le=90)) -> HTMLResponse:
        from quotawarden.interfaces.views import alerts as alerts_v
        from quotawarden.interfaces.views import money as money_v

        data = money_v.fairness(svc, days)
        names = [c["consumer"] for c in data["consumers"]]
        chart = {"type": "stack", "yFormat": "pct", "yMax": 1, "label": "Share of each day's cost per consumer",
                 "categories": [r["day"][5:] for r in data["series"]],
                 "stacks": [{"name": n, "values": [r["shares"].get(n, 0) for r in data["series"]]} for n in names]}
        fair_alerts = data.get("alerts") or [a for a in alerts_v.list_alerts(svc, "open") if a["kind"] == "fairness"]
        return page(request, "fairness.html", "fairness", "Fairness", data=data, share_chart=chart,
                    fairness_alerts=fair_alerts)

    @router.get(PATHS["alerts"], response_class=HTMLResponse)
    def alerts(request: Request, state: str = Query("open", pattern="^(open|acked|resolved|all)$")) -> HTMLResponse:
        from quotawarden.interfaces.views import alerts as alerts_v

        rows = alerts_v.list_alerts(svc, None if state == "all" else state)
        return page(request, "alerts.html", "alerts", "Alerts", alerts=rows, state=state)

    @router.post(PATHS["ack"])
    async def ack(request: Request, alert_id: int) -> Response:
        from quotawarden.interfaces.views import alerts as alerts_v

        form_token = None
        if request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded",
                                                                "multipart/form-data")):
            value = (await request.form()).get(auth.CSRF_FIELD)
            form_token = value if isinstance(value, str) else None
        auth.check_change(request, svc, form_token)
        try:
            alert = await run_in_threadpool(alerts_v.ack, svc, alert_id, by="dashboard")
        except alerts_v.NotFound as exc:
            raise HTTPException(404, str(exc)) from None
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse(orjson.loads(orjson.dumps(alert, default=str)))
        root = request.scope.get("root_path", "")
        return RedirectResponse(root + PATHS["alerts"], status_code=303)

    @router.get(PATHS["audit"], response_class=HTMLResponse)
    def audit(request: Request) -> HTMLResponse:
        from quotawarden.interfaces.views import alerts as alerts_v

        report = alerts_v.latest_audit(svc)
        return page(request, "audit.html", "audit", "Audit", report=report,
                    markdown=alerts_v.audit_markdown(report))

    @router.get(PATHS["audit_download"])
    def audit_download(fmt: str) -> Response:
        from quotawarden.interfaces.views import alerts as alerts_v

        report = alerts_v.latest_audit(svc)
        day = str(report.get("generated_at", ""))[:10] or datetime.now(UTC).date().isoformat()
        name = f"account-audit-{day}.{fmt}"
        if fmt == "json":
            body, media = orjson.dumps(report, option=orjson.OPT_INDENT_2, default=str).decode(), "application/json"
        elif fmt == "yaml":
            import yaml

            body, media = yaml.safe_dump(orjson.loads(orjson.dumps(report, default=str)), sort_keys=False), \
                "application/yaml"
        elif fmt == "md":
            body, media = alerts_v.audit_markdown(report), "text/markdown"
        else:
            raise HTTPException(404, "formats: json, yaml, md")
        return PlainTextResponse(body, media_type=media,
                                 headers={"Content-Disposition": f'attachment; filename="{name}"'})

    return router


def _until(value: Any, now: datetime) -> str:
    from quotawarden.interfaces.views._common import human, parse_iso

    at = parse_iso(value) if isinstance(value, str) else value
    if at is None:
        return "-"
    secs = (at - now).total_seconds()
    return f"in {human(secs)}" if secs >= 0 else f"{human(-secs)} ago"


def util_chart(data: dict[str, Any], svc: Service) -> dict[str, Any]:
    series = [s for s in data["series"] if s["points"]]
    marks = sorted({t for s in series for t in s["resets"]})
    caps = [w.get("hard_cap") for w in data["account"]["windows"] if w.get("hard_cap")]
    return {"type": "line", "yFormat": "pct", "yMax": 1, "x0": data["since"], "x1": data["until"],
            "label": f"Utilisation of {data['account']['id']} per window over {data['range']}",
            "series": [{"name": s["window"], "points": s["points"]} for s in series],
            "projections": [{"name": s["window"] + " projection", "points": s["projection"], "color": i}
                            for i, s in enumerate(series) if s["projection"]],
            "marks": marks, "cap": min(caps) if caps else svc.thresholds.used_red}


def source_chart(data: dict[str, Any]) -> dict[str, Any]:
    names = list(data["sources"])
    return {"type": "bar", "yFormat": "num", "height": 160, "categories": names,
            "stacks": [{"name": "samples", "values": [data["sources"][n] for n in names]}],
            "label": "Samples per source: " + ", ".join(f"{k} {v}" for k, v in data["sources"].items())}
