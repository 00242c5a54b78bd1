"""The web console (API.md section 9): its headers over HTTP, its flows in a
real browser (Debian's chromium, driven by Selenium) against a live server.

The browser tests run on SQLite only: they test the page, not the engine.
Without chromium they skip, unless CLIENT_REGISTRY_TEST_BROWSER=required
(as in CI) makes a missing browser a failure. With
CLIENT_REGISTRY_SCREENSHOTS=docs they write the README's pictures to docs/.
"""

import os
import re
import secrets
import tomllib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import httpx
import pytest

from builders import new_client, unique_name
from client_registry.db import make_engine
from client_registry.migrate import upgrade_to_head
from conftest import Service

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
BROWSER_REQUIRED = os.environ.get("CLIENT_REGISTRY_TEST_BROWSER") == "required"
SCREENSHOTS = os.environ.get("CLIENT_REGISTRY_SCREENSHOTS") == "docs"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
CONSOLE_DIR = Path(__file__).resolve().parent.parent / "src" / "client_registry" / "console"
WAIT_SECONDS = 10
APP_NAMES = [
    "Billing portal",
    "Support desk",
    "Mobile app for iOS",
    "Mobile app for Android",
    "Reporting",
    "Partner API",
    "Data export",
    "Admin tools",
    "Status page",
    "Docs search",
    "Payments",
    "Command-line tool",
]


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """SQLite alone for this module: the console is the same on every engine."""
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'registry.db'}"
    engine = make_engine(url)
    upgrade_to_head(engine)
    engine.dispose()
    return url


# --- over plain HTTP ---------------------------------------------------------


def _assert_console_headers(response: httpx.Response) -> None:
    assert response.headers["Content-Security-Policy"] == CSP
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_console_page_loads_without_a_token_with_its_headers(service: Service) -> None:
    response = service.anonymous().get("/console")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    _assert_console_headers(response)
    head = service.anonymous().head("/console")
    assert head.status_code == 200
    assert head.content == b""
    _assert_console_headers(head)


def test_every_console_file_is_served_with_the_headers(service: Service) -> None:
    anonymous = service.anonymous()
    media = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    names = sorted(path.name for path in CONSOLE_DIR.iterdir() if path.suffix in media)
    assert "main.js" in names
    assert "console.css" in names
    for name in names:
        response = anonymous.get(f"/console/{name}")
        assert response.status_code == 200, name
        assert response.headers["Content-Type"].startswith(media[Path(name).suffix]), name
        assert response.content == (CONSOLE_DIR / name).read_bytes()
        _assert_console_headers(response)


def test_unknown_console_files_are_404_with_the_headers(service: Service) -> None:
    anonymous = service.anonymous()
    for path in ("/console/nope.js", "/console/..%2Froutes%2Fconsole.py", "/console/__init__.py"):
        response = anonymous.get(path)
        assert response.status_code == 404, path
        _assert_console_headers(response)


def test_the_console_is_not_in_the_openapi_document(service: Service) -> None:
    paths = service.anonymous().get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith("/console")]


def test_the_page_holds_no_inline_script_or_style() -> None:
    page = (CONSOLE_DIR / "index.html").read_text()
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert scripts
    assert all('src="/console/' in tag and "http" not in tag for tag in scripts)
    assert [
        body for body in re.findall(r"<script\b[^>]*>(.*?)</script>", page, re.S) if body.strip()
    ] == []
    assert "<style" not in page
    assert re.search(r"\sstyle=", page) is None
    assert re.search(r"\son[a-z]+=", page) is None
    assert re.search(r"(src|href)=\"(https?:)?//", page) is None


def test_scripts_never_insert_data_as_html() -> None:
    for script in CONSOLE_DIR.glob("*.js"):
        source = script.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in source, f"{script.name} uses {sink}"
        assert "localStorage" not in source, script.name


def test_package_data_ships_every_console_file(repo_root: Path) -> None:
    project = tomllib.loads((repo_root / "pyproject.toml").read_text())
    patterns = project["tool"]["setuptools"]["package-data"]["client_registry"]
    for path in CONSOLE_DIR.iterdir():
        relative = f"console/{path.name}"
        assert any(fnmatch(relative, pattern) for pattern in patterns), relative


# --- in a browser --------------------------------------------------------------


def _browser_missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists():
            return f"{path} is missing (apt-get install chromium chromium-driver)"
    return None


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    missing = _browser_missing()
    if missing is not None:
        if BROWSER_REQUIRED:
            pytest.fail(f"CLIENT_REGISTRY_TEST_BROWSER=required but {missing}")
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service as DriverService

    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,960",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=DriverService(str(CHROMEDRIVER)), options=options)
    try:
        yield browser
    finally:
        browser.quit()


class Console:
    """The console in one browser, with the few moves the tests make."""

    def __init__(self, driver: Any, service: Service) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver = driver
        self.service = service
        self.wait = WebDriverWait(driver, WAIT_SECONDS)

    def open(self, hash_: str = "") -> None:
        self.driver.get(f"{self.service.url}/console{hash_}")

    def fresh(self) -> None:
        """A tab with nothing in sessionStorage, showing the sign-in form."""
        self.open()
        self.driver.execute_script("sessionStorage.clear(); localStorage.clear();")
        self.driver.refresh()
        self.find("#token")

    def sign_in(self, token: str | None = None) -> None:
        self.fresh()
        self.find("#token").send_keys(token or self.service.token)
        self.find("#sign-in").click()
        self.find("#sign-out")
        self.wait.until(
            lambda _: self.driver.execute_script("return !!document.querySelector('main h1')")
        )

    def go(self, hash_: str) -> None:
        self.driver.execute_script("location.hash = arguments[0]", hash_)

    def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        return self.wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, css)))

    def gone(self, css: str) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        self.wait.until(ec.invisibility_of_element_located((By.CSS_SELECTOR, css)))

    def all(self, css: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def until(self, check: Callable[[], object]) -> None:
        self.wait.until(lambda _: check())

    def text(self, css: str) -> str:
        """The element's text, read in one step: views are re-rendered whole."""
        script = "const e = document.querySelector(arguments[0]); return e && e.innerText"
        found: list[str] = []
        self.until(lambda: found.append(self.driver.execute_script(script, css)) or found[-1])
        return found[-1]

    def heading(self) -> str:
        return self.text("main h1")

    def expect_heading(self, expected: str) -> None:
        """Waits for the page titled `expected`; fails with the title shown."""
        try:
            self.until(lambda: self.heading() == expected)
        except Exception:
            assert self.heading() == expected
            raise

    def storage(self, kind: str) -> dict[str, str]:
        script = f"return Object.fromEntries(Object.entries({kind}))"
        return dict(self.driver.execute_script(script))

    def fill(self, css: str, value: str) -> None:
        field = self.find(css)
        field.clear()
        field.send_keys(value)

    def select(self, css: str, value: str) -> None:
        from selenium.webdriver.support.ui import Select

        Select(self.find(css)).select_by_value(value)

    def row_ids(self) -> list[str]:
        script = "return [...document.querySelectorAll('#client-table tr[data-id]')]" + (
            ".map((row) => row.dataset.id)"
        )
        return list(self.driver.execute_script(script))

    def unlabelled_controls(self) -> list[str]:
        script = """
            return [...document.querySelectorAll('main input, main select, main textarea')]
              .filter((c) => c.type !== 'hidden' && c.labels.length === 0
                             && !c.getAttribute('aria-label'))
              .map((c) => c.id || c.name || c.outerHTML);
        """
        return list(self.driver.execute_script(script))

    def screenshot(self, name: str, *, centre: str | None = None) -> None:
        """A picture for the README, scrolled to the top or to `centre`."""
        if not SCREENSHOTS:
            return
        docs = Path(__file__).resolve().parent.parent / "docs"
        docs.mkdir(exist_ok=True)
        self.driver.execute_script(
            "document.activeElement.blur();"
            "const at = arguments[0] && document.querySelector(arguments[0]);"
            "if (at) at.scrollIntoView({block: 'center'}); else window.scrollTo(0, 0);",
            centre,
        )
        self.driver.save_screenshot(str(docs / name))


@pytest.fixture
def console(driver: Any, service: Service) -> Iterator[Console]:
    page = Console(driver, service)
    driver.get_log("browser")  # drop what earlier tests left
    yield page
    # A script error or a CSP violation shows in the browser's log; refused
    # requests (the 4xx the tests cause on purpose) are all that may be there.
    problems = [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and "Failed to load resource" not in entry["message"]
    ]
    assert problems == []
    for handle in driver.window_handles[1:]:
        driver.switch_to.window(handle)
        driver.close()
    driver.switch_to.window(driver.window_handles[0])


def _count_clients(api: httpx.Client) -> int:
    total, cursor = 0, None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/clients", params=params).json()
        total += len(page["items"])
        cursor = page["nextCursor"]
        if cursor is None:
            return total


def _authenticates(service: Service, client_id: str, secret: str) -> bool:
    api = service.client(service.mint_token("clients:authenticate"))
    response = api.post(
        f"/v1/clients/{client_id}/authenticate",
        json={"secret": secret, "method": "client_secret_basic"},
    )
    return response.status_code == 200


def test_sign_in_keeps_the_token_in_the_tab_and_sign_out_forgets_it(
    console: Console, service: Service
) -> None:
    console.fresh()
    console.expect_heading("Sign in")
    console.find("#token").send_keys("crat_not-a-real-token")
    console.find("#sign-in").click()
    assert "not valid" in console.text("#token-error")
    assert console.storage("sessionStorage") == {}

    console.fill("#token", service.token)
    console.find("#sign-in").click()
    console.expect_heading("Clients")
    assert service.token in console.storage("sessionStorage").values()
    assert console.storage("localStorage") == {}
    assert "read and write" in console.text("#scopes")

    console.driver.refresh()  # the tab keeps its sign-in
    console.expect_heading("Clients")

    console.find("#sign-out").click()
    console.expect_heading("Sign in")
    assert console.storage("sessionStorage") == {}
    assert console.storage("localStorage") == {}
    assert console.unlabelled_controls() == []


def test_the_sign_in_form_works_from_the_keyboard(console: Console) -> None:
    from selenium.webdriver.common.keys import Keys

    console.fresh()
    focused = console.driver.switch_to.active_element
    assert focused.get_attribute("id") == "token"
    focused.send_keys(console.service.token, Keys.ENTER)
    console.expect_heading("Clients")


def test_a_read_only_token_shows_no_write_buttons_and_the_probe_writes_nothing(
    console: Console, service: Service, api: httpx.Client
) -> None:
    client = new_client(api)
    before = _count_clients(api)
    console.sign_in(service.mint_token("clients:read"))
    assert console.text("#scopes") == "Token can read"
    assert console.all("#new-client") == []
    assert not console.find("#nav-clients").get_attribute("hidden")
    assert console.all("#nav-new")[0].is_displayed() is False
    console.go(f"#/client/{client['id']}")
    console.find("#client-fields")
    assert console.all("#edit-client, #rotate-open, #delete-open") == []
    # Without audit:read (or without an audit trail at all) the view says so.
    assert "Audit trail unavailable" in console.text("#audit-unavailable")
    assert _count_clients(api) == before


def test_list_filters_and_pages(console: Console, api: httpx.Client) -> None:
    team = f"team {secrets.token_hex(2)}"
    made = [
        new_client(
            api,
            name=f"{label} ({team})",
            firstParty=index % 4 == 0,
            grantTypes=["authorization_code", "client_credentials"]
            if index % 3 == 0
            else ["authorization_code"],
            scopes=["openid", "reports:read"] if index % 2 == 0 else ["openid"],
        )
        for index, label in enumerate(APP_NAMES)
    ]
    ids = [client["id"] for client in made]
    console.sign_in()
    console.fill("#filter-name", team.upper())  # case-insensitive, as the API's filter
    console.select("#filter-limit", "10")
    console.find("#filter-apply").click()
    console.until(lambda: console.row_ids() == ids[:10])
    assert console.text("#page-number").startswith("Page 1")
    assert console.find("#page-previous").get_attribute("disabled") is not None
    console.screenshot("console-list.png")

    console.find("#page-next").click()
    console.until(lambda: console.row_ids() == ids[10:])
    assert console.text("#page-number").startswith("Page 2")
    assert console.find("#page-next").get_attribute("disabled") is not None
    console.find("#page-previous").click()
    console.until(lambda: console.row_ids() == ids[:10])

    console.select("#filter-firstParty", "true")
    console.find("#filter-apply").click()
    console.until(lambda: console.row_ids() == ids[0::4])

    console.select("#filter-firstParty", "")
    console.select("#filter-grantType", "client_credentials")
    console.find("#filter-apply").click()
    console.until(lambda: console.row_ids() == ids[0::3])

    console.select("#filter-grantType", "")
    console.fill("#filter-scope", "reports:read")
    console.find("#filter-apply").click()
    console.until(lambda: console.row_ids() == ids[0::2])

    console.fill("#filter-name", "no client is called this")
    console.find("#filter-apply").click()
    assert "No clients match" in console.text("#client-empty")
    assert console.unlabelled_controls() == []


def test_create_form_has_the_api_defaults_and_follows_the_grants(console: Console) -> None:
    console.sign_in()
    console.go("#/new")
    console.expect_heading("New client")
    checked = console.driver.execute_script(
        "return Object.fromEntries(['grantTypes','responseTypes','responseModes','authMethods']"
        ".map((n) => [n, [...document.querySelectorAll(`input[name=${n}]:checked`)]"
        ".map((b) => b.value)]))"
    )
    assert checked == {
        "grantTypes": ["authorization_code"],
        "responseTypes": ["code"],
        "responseModes": ["query"],
        "authMethods": ["client_secret_basic", "client_secret_post"],  # as the boxes are laid out
    }
    assert (
        console.find("#field-scopes").get_attribute("value")
        == "openid email profile offline_access"
    )
    assert console.find("#field-firstParty").is_selected() is False
    assert console.unlabelled_controls() == []

    # Swap authorization_code for implicit: the response defaults follow.
    console.find("input[name=grantTypes][value=implicit]").click()
    console.find("input[name=grantTypes][value=authorization_code]").click()
    selected = console.driver.execute_script(
        "return ['responseTypes','responseModes'].map((n) => "
        "[...document.querySelectorAll(`input[name=${n}]:checked`)].map((b) => b.value))"
    )
    assert selected == [["token"], ["fragment"]]


def test_create_shows_a_422_beside_its_field(
    console: Console, service: Service, api: httpx.Client
) -> None:
    before = _count_clients(api)
    console.sign_in()
    console.go("#/new")
    console.fill("#field-name", "Billing portal")
    console.fill("#field-redirect", "https://billing.example.com/cb\nhttp://billing.example.com/cb")
    console.find("#form-submit").click()
    error = console.find("#error-redirect")
    assert "Line 2 (http://billing.example.com/cb)" in error.text
    field = console.driver.execute_script(
        "return arguments[0].closest('[data-field]').dataset.field", error
    )
    assert field == "redirect"
    assert console.find("#field-redirect").get_attribute("aria-invalid") == "true"
    assert console.text(".client-form > .notice") == "One field needs attention."
    assert console.driver.switch_to.active_element.get_attribute("id") == "field-redirect"
    assert console.all("#error-name")[0].is_displayed() is False
    assert _count_clients(api) == before
    console.screenshot("console-create-error.png")

    # Errors on several fields go beside each of them; a fix clears them.
    console.fill("#field-redirect", "https://billing.example.com/cb")
    console.fill("#field-scopes", "openid bad\\scope")
    console.find("input[name=authMethods][value=none]").click()
    console.find("#form-submit").click()
    assert "bad\\scope" in console.text("#error-scopes")
    assert console.text("#error-authMethods")
    assert not console.find("#field-redirect").get_attribute("aria-invalid")


def test_create_shows_the_secret_once(
    console: Console, service: Service, api: httpx.Client
) -> None:
    client_id = unique_name("created")
    console.sign_in()
    console.go("#/new")
    console.fill("#field-id", client_id)
    console.fill("#field-name", "Reporting app")
    console.fill("#field-redirect", "https://reports.example.com/cb")
    console.find("#field-firstParty").click()
    console.find("#form-submit").click()

    secret = console.find("#secret-value").get_attribute("value")
    assert secret.startswith("crs_")
    assert "cannot be shown again" in console.text("#secret-warning")
    console.expect_heading("Reporting app")
    assert _authenticates(service, client_id, secret)
    stored = api.get(f"/v1/clients/{client_id}").json()
    assert stored["firstParty"] is True
    assert stored["redirect"] == ["https://reports.example.com/cb"]
    console.screenshot("console-secret.png")

    console.find("#secret-copy").click()
    console.until(lambda: console.find("#secret-copy").text == "Copied")
    storage = {**console.storage("sessionStorage"), **console.storage("localStorage")}
    assert not [value for value in storage.values() if secret in value]

    console.driver.refresh()  # once: a reload of the same page no longer holds it
    console.find("#client-fields")
    assert console.all("#secret-panel") == []
    assert secret not in console.driver.page_source


def test_view_shows_every_field_as_text(console: Console, api: httpx.Client) -> None:
    client = new_client(
        api,
        name='<img src="x" id="injected"> & <b>bold</b>',
        redirect=["https://a.example.com/cb", "com.example.app:/cb"],
        grantTypes=["authorization_code", "implicit", "refresh_token"],
        responseTypes=["code", "code id_token"],
        responseModes=["form_post"],
        scopes=["openid", "reports:read"],
        firstParty=True,
        authMethods=["client_secret_basic"],
    )
    console.sign_in()
    console.go("#/client/" + str(client["id"]))
    console.expect_heading(client["name"])
    details = console.text("#client-fields")
    for value in [
        client["id"],
        "https://a.example.com/cb",
        "com.example.app:/cb",
        "refresh_token",
        "code id_token",
        "form_post",
        "reports:read",
        "client_secret_basic",
        "Yes",
    ]:
        assert str(value) in details
    assert console.all("#injected") == []
    assert console.all("main h1 b") == []


def test_edit_saves_with_if_match(console: Console, api: httpx.Client) -> None:
    client = new_client(api)
    console.sign_in()
    console.go(f"#/client/{client['id']}")
    console.find("#edit-client").click()
    console.expect_heading(f"Edit {client['name']}")
    assert console.find("#field-name").get_attribute("value") == client["name"]
    console.fill("#field-name", "Renamed in the console")
    console.fill("#field-scopes", "openid reports:read")
    console.find("#form-submit").click()
    console.expect_heading("Renamed in the console")
    assert "Saved" in console.text("#flash-message")
    stored = api.get(f"/v1/clients/{client['id']}").json()
    assert stored["name"] == "Renamed in the console"
    assert stored["scopes"] == ["openid", "reports:read"]
    assert stored["redirect"] == client["redirect"]


def test_edit_refused_after_a_change_in_a_second_tab_then_reloaded(
    console: Console, api: httpx.Client
) -> None:
    client = new_client(api, name="Before")
    edit = f"#/client/{client['id']}/edit"
    console.sign_in()
    console.go(edit)
    console.find("#field-name")
    first_tab = console.driver.current_window_handle

    console.driver.switch_to.new_window("tab")
    console.sign_in()  # a new tab has a session of its own
    console.go(edit)
    console.fill("#field-name", "Changed in the other tab")
    console.find("#form-submit").click()
    console.expect_heading("Changed in the other tab")

    console.driver.switch_to.window(first_tab)
    console.fill("#field-scopes", "openid")
    console.find("#form-submit").click()
    banner = console.find(".client-form > .notice")
    assert "Someone else changed this client" in banner.text
    rows = [row.text for row in console.all("#conflict-changes tbody tr")]
    assert rows == ["Name Before Changed in the other tab"]
    assert api.get(f"/v1/clients/{client['id']}").json()["scopes"] == client["scopes"]

    console.find("#conflict-reload").click()
    console.until(
        lambda: console.find("#field-name").get_attribute("value") == "Changed in the other tab"
    )
    console.gone(".client-form > .notice")
    console.fill("#field-scopes", "openid")
    console.find("#form-submit").click()
    console.expect_heading("Changed in the other tab")
    stored = api.get(f"/v1/clients/{client['id']}").json()
    assert stored["name"] == "Changed in the other tab"
    assert stored["scopes"] == ["openid"]


def test_rotate_with_a_grace_period_shows_when_the_previous_secret_expires(
    console: Console, service: Service, api: httpx.Client
) -> None:
    client = new_client(api)
    console.sign_in()
    console.go(f"#/client/{client['id']}")
    console.find("#rotate-open").click()
    console.select("#grace-period", "86400")
    assert console.unlabelled_controls() == []
    assert "keep working until" in console.text("#grace-preview")
    console.find("#rotate-confirm").click()

    secret = console.find("#secret-value").get_attribute("value")
    assert secret != client["secret"]
    stored = api.get(f"/v1/clients/{client['id']}").json()
    expires = datetime.fromisoformat(stored["previousSecretExpiresAt"].replace("Z", "+00:00"))
    rotated = datetime.fromisoformat(stored["secretCreatedAt"].replace("Z", "+00:00"))
    assert expires - rotated == timedelta(days=1)
    shown = f"{expires.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
    assert shown in console.text("#previous-expiry")
    assert shown in console.text("#previous-secret")
    assert _authenticates(service, str(client["id"]), secret)
    assert _authenticates(service, str(client["id"]), str(client["secret"]))


def test_delete_only_after_typing_the_id(console: Console, api: httpx.Client) -> None:
    client = new_client(api)
    console.sign_in()
    console.go(f"#/client/{client['id']}")
    console.find("#delete-open").click()
    confirm = console.find("#delete-confirm")
    assert console.unlabelled_controls() == []
    assert confirm.get_attribute("disabled") is not None
    console.fill("#delete-confirm-id", str(client["id"])[:-1])
    assert confirm.get_attribute("disabled") is not None
    assert api.get(f"/v1/clients/{client['id']}").status_code == 200

    console.fill("#delete-confirm-id", str(client["id"]))
    assert confirm.get_attribute("disabled") is None
    confirm.click()
    console.expect_heading("Clients")
    assert str(client["id"]) in console.text("#flash-message")
    assert api.get(f"/v1/clients/{client['id']}").status_code == 404


def test_audit_trail_of_a_client(console: Console, api: httpx.Client) -> None:
    """Needs GET /v1/audit-events (API.md section 7)."""
    client = new_client(api, name="Audited")
    patched = api.patch(f"/v1/clients/{client['id']}", json={"name": "Audited again"})
    assert patched.status_code == 200
    console.sign_in()
    console.go(f"#/client/{client['id']}")
    console.until(lambda: len(console.all("#audit-events .event")) == 2)
    actions = [item.get_attribute("data-action") for item in console.all("#audit-events .event")]
    assert actions == ["client.updated", "client.created"]
    newest = console.all("#audit-events .event")[0]
    assert "name Audited Audited again" in newest.text
    assert "tests" in newest.text  # the token's name


def test_the_browser_refuses_inline_script_on_the_console(console: Console) -> None:
    console.sign_in()
    ran = console.driver.execute_script(
        "window.injectedRan = false;"
        "const script = document.createElement('script');"
        "script.textContent = 'window.injectedRan = true';"
        "document.body.append(script);"
        "return window.injectedRan;"
    )
    assert ran is False
    refusals = [
        entry["message"]
        for entry in console.driver.get_log("browser")
        if "Content Security Policy" in entry["message"]
    ]
    assert refusals, "the browser logged no CSP refusal"
