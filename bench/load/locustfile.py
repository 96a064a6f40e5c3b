"""The load test's users (Locust), run by bench/load/runner.py against `make serve`'s stack:

  MapUser       pans the map: vector tiles of the assets and villages layers around an asset, a search, the
                asset's panel (API and page)
  VerifierUser  posts verifications with a photo through the API (token), one in five resending the previous
                client_id as a phone does when the network comes back (the API must answer 200 with the same record)
  ClerkUser     opens an asset's custodian step and saves it (a lifecycle step, session and CSRF)
  ReportUser    downloads a village's report (workbook) and opens its page

LOAD_PLAN names the plan (bench/load/plan.py); LOAD_OUT a folder where each process writes every request
(requests-<pid>.csv: end time, name, group, ms, ok, status, account), every write the server accepted (accepted-<pid>.jsonl),
which the runner checks against the database, and a line per user once it has started (started-<pid>.txt).
Standard library and Locust only: no Django here."""

import csv
import datetime
import json
import os
import random
import time
import uuid
from pathlib import Path

import requests.sessions
from locust import HttpUser, between, events, task

PLAN = json.loads(Path(os.environ["LOAD_PLAN"]).read_text(encoding="utf-8"))
PHOTO = Path(PLAN["photo"]).read_bytes()
OUT = Path(os.environ["LOAD_OUT"])
OUT.mkdir(parents=True, exist_ok=True)
_requests = open(OUT / f"requests-{os.getpid()}.csv", "a", newline="", encoding="utf-8")  # noqa: SIM115
_log = csv.writer(_requests)
_accepted = open(OUT / f"accepted-{os.getpid()}.jsonl", "a", encoding="utf-8")  # noqa: SIM115
RUN = os.environ.get("LOAD_RUN", uuid.uuid4().hex[:8])


def group_of(name: str) -> str:
    return name.split(" ", 1)[0]


@events.request.add_listener
def _on_request(request_type, name, response_time, response_length, response=None, exception=None, context=None,
                **kwargs):
    status = getattr(response, "status_code", 0) if response is not None else 0
    _log.writerow((f"{time.time():.3f}", name, group_of(name), f"{response_time:.1f}", 0 if exception else 1, status,
                   (context or {}).get("who", "")))


@events.quitting.add_listener
def _on_quit(environment, **kwargs):
    _requests.flush()
    _accepted.flush()


def accepted(**record) -> None:
    _accepted.write(json.dumps(record) + "\n")
    _accepted.flush()


def started(user) -> None:
    """One line per user whose start (its login) is over: the faults wait for all of them before they strike."""
    with open(OUT / f"started-{os.getpid()}.txt", "a", encoding="utf-8") as f:
        f.write(type(user).__name__ + "\n")


def _keep_secure_cookies_local(extract):
    """Production's cookies are Secure; over plain HTTP to 127.0.0.1 a browser sends them (a secure context), the
    requests library does not: every cookie stored is marked sendable over HTTP, as the browser treats them."""

    def extract_then_allow(jar, request, response):
        extract(jar, request, response)
        for cookie in jar:
            cookie.secure = False

    return extract_then_allow


requests.sessions.extract_cookies_to_jar = _keep_secure_cookies_local(requests.sessions.extract_cookies_to_jar)


class LoggedIn(HttpUser):
    abstract = True
    account = ""

    def on_start(self):
        self.session = False
        for _attempt in range(3):  # as a person does when the login page fails: once more
            if self.login():
                self.session = True
                break
            time.sleep(1)
        started(self)

    def context(self) -> dict:  # who made a request, in the requests' log: a failure says whose it was
        return {"who": self.account if getattr(self, "session", False) else f"{self.account} without a session"}

    def login(self) -> bool:
        creds = PLAN["accounts"][self.account]
        self.client.get("/admin/login/", name="login")
        with self.client.post("/admin/login/?next=/admin/", name="login", allow_redirects=False, catch_response=True,
                              data={"username": creds["username"], "password": creds["password"], "next": "/admin/",
                                    "csrfmiddlewaretoken": self.csrf}, headers={"X-CSRFToken": self.csrf}) as response:
            if response.status_code != 302:
                response.failure("not logged in")
                return False
        return True

    @property
    def csrf(self) -> str:
        return self.client.cookies.get("csrftoken", "")


class MapUser(LoggedIn):
    weight = 4
    wait_time = between(0.5, 2)
    account = "load-map"

    @task(6)
    def pan(self):
        z, x, y = random.choice(PLAN["tiles"])
        for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1), (-1, 0), (0, -1)):
            self.client.get(f"/tiles/assets/{z}/{x + dx}/{y + dy}.mvt", name=f"tile assets z{z}")
        self.client.get(f"/tiles/villages/{z}/{x}/{y}.mvt", name=f"tile villages z{z}")

    @task(2)
    def search(self):
        self.client.get("/api/v1/search/", params={"q": random.choice(PLAN["words"])}, name="search")

    @task(2)
    def panel(self):
        code = random.choice(PLAN["assets"])["code"]
        self.client.get(f"/api/v1/assets/{code}/", name="panel api/v1/assets/<code>/")
        self.client.get(f"/assets/{code}/", name="panel assets/<code>/")


class VerifierUser(HttpUser):
    weight = 2
    wait_time = between(1, 4)
    resend_share = float(os.environ.get("LOAD_RESEND_SHARE", "0.2"))

    def on_start(self):
        self.client.headers["Authorization"] = f"Token {PLAN['accounts']['load-verifier']['token']}"
        self.last = None
        started(self)

    def context(self) -> dict:
        return {"who": "load-verifier (token)"}

    @task
    def verify(self):
        if self.last is not None and random.random() < self.resend_share:
            fields, name = self.last, "verification resend"
        else:
            asset = random.choice(PLAN["assets"])
            fields = {"asset_code": asset["code"], "finding": "intact", "lon": asset["lon"] + 0.00005,
                      "lat": asset["lat"], "accuracy_m": 8, "client_id": str(uuid.uuid4()),
                      "observed_at": datetime.datetime.now(datetime.UTC).isoformat(), "note": f"load {RUN}"}
            name = "verification post"
        with self.client.post("/api/v1/verifications/", data=fields, name=name, catch_response=True,
                              files=[("photos", ("site.jpg", PHOTO, "image/jpeg"))]) as response:
            if response.status_code in (200, 201):
                body = response.json()
                if body.get("client_id") != fields["client_id"]:
                    response.failure("answered another record")
                    return
                accepted(kind="verification", client_id=fields["client_id"], id=body["id"],
                         status=response.status_code)
                self.last = fields
            elif name == "verification resend" and response.status_code == 201:
                response.failure("a resend made a new record")


class ClerkUser(LoggedIn):
    weight = 1
    wait_time = between(2, 6)
    account = "load-clerk"

    @task
    def custodian(self):
        code = random.choice(PLAN["assets"])["code"]
        url = f"/assets/{code}/lifecycle/custodian/"
        self.client.get(url, name="lifecycle step page")
        unit = f"load {RUN} {uuid.uuid4().hex[:12]}"
        with self.client.post(url, name="lifecycle step save", allow_redirects=False, catch_response=True, data={
                "effective_on": datetime.date.today().isoformat(), "unit": unit, "person": "load",
                "phone": "", "csrfmiddlewaretoken": self.csrf}, headers={"X-CSRFToken": self.csrf,
                                                                        "Referer": self.host + url}) as response:
            if response.status_code == 302 and "/login/" in response.headers.get("Location", ""):
                response.failure("not logged in")
            elif response.status_code == 302:
                accepted(kind="custodian", asset=code, unit=unit)
            elif response.status_code == 200:
                response.failure("the step's form came back (not saved)")


class ReportUser(LoggedIn):
    weight = 1
    wait_time = between(3, 8)
    account = "load-clerk"

    @task
    def village_report(self):
        code = random.choice(PLAN["villages"])
        self.client.get(f"/reports/villages/{code}/", name="report page")
        self.client.get(f"/reports/villages/{code}.xlsx", name="report xlsx")
