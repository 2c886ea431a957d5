"""The portal in a real browser (Debian's Chromium driven by Playwright), on a stack of its own.

Each walk follows the guide's screens and compares what the page says with what the services
computed; axe checks every page; screenshots land in ``PORTAL_SCREENSHOTS`` (or the test's tmp).
"""

import io
import os
import re
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from pypdf import PdfReader

from services.stack.demo_data import PASSWORD
from tests.e2e.conftest import RunningStack, launch, stop_stack
from tests.e2e.otlp_receiver import OtlpReceiver
from tests.e2e.portal_browser import (
    CHROMIUM_FLAGS,
    Api,
    Visits,
    chromium_path,
    eventually,
    quote_id_of,
    request_id_of,
    texte,
)

pytestmark = pytest.mark.e2e

GROUPE = "demo.groupe"
SAHARA, FES_ARRANGEMENT = "1000002", "1000003"  # demo.groupe's affiliates (see the README)
SIMPLE, ATLAS = "demo.simple", "1000001"
SANS_JS, SANS_JS_AFFILIE = "demo.affilie.006", "1000105"
ARABE, ARABE_AFFILIE = "demo.affilie.009", "1000108"
VERROU = "demo.affilie.019"


@pytest.fixture(scope="module")
def portal_stack(tmp_path_factory: pytest.TempPathFactory, otlp: OtlpReceiver) -> Iterator[RunningStack]:
    # The perception never answers demo.simple: its installments request stays awaiting guarantees.
    running = launch(tmp_path_factory.mktemp("portal-stack"), otlp, {"PERCEPTION_RULES": f"{ATLAS}=ignore"})
    yield running
    if running.process.poll() is None:
        stop_stack(running.process)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def visits(tmp_path_factory: pytest.TempPathFactory) -> Visits:
    folder = Path(os.environ.get("PORTAL_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return Visits(folder)


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    opened = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-MA")
    yield opened
    opened.close()


def portal(stack: RunningStack) -> str:
    return stack.urls["portal"]


def login(page: Page, stack: RunningStack, identifiant: str, password: str = PASSWORD) -> None:
    page.goto(f"{portal(stack)}/connexion")
    page.get_by_label("Identifiant").fill(identifiant)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()


def test_group_account_pays_in_full_to_prise_en_charge(
    portal_stack: RunningStack, context: BrowserContext, visits: Visits
) -> None:
    api = Api(portal_stack, GROUPE)
    api.settled(SAHARA)
    page = context.new_page()
    page.goto(portal(portal_stack))
    expect(page).to_have_url(re.compile("/connexion"))
    visits.check(page, "01-connexion")
    login(page, portal_stack, GROUPE)

    # 2. choix de l'affilié: name, number and perception of each
    expect(page).to_have_url(re.compile("/affilies$"))
    expect(page.get_by_role("heading", name="Choix de l'affilié")).to_be_visible()
    for numero in (SAHARA, FES_ARRANGEMENT, "1000004"):
        expect(page.locator("button.affilie", has_text=numero)).to_be_visible()
    expect(page.locator("button.affilie", has_text=SAHARA)).to_contain_text("Perception")
    visits.check(page, "02-choix-affilie")
    page.locator("button.affilie", has_text=SAHARA).click()

    # 3. créance consolidée: the totals debt computed, eligible periods apart
    expect(page).to_have_url(re.compile("/creance$"))
    debt = api.debt(SAHARA)
    expect(page.locator("[data-test=total-eligible]")).to_have_text(texte(debt["totals"]["eligible"]["total"]))
    expect(page.locator("[data-test=total-non_eligible]")).to_have_text(texte(debt["totals"]["non_eligible"]["total"]))
    eligible_rows = [p for p in debt["periods"] if p["eligible"]]
    expect(page.get_by_role("heading", name=re.compile(r"Périodes éligibles à la remise"))).to_contain_text(
        f"({len(eligible_rows)})"
    )
    visits.check(page, "03-creance")
    # a long history has a page of its own: every eligible period, due / paid / outstanding
    page.get_by_role("link", name=re.compile(rf"Voir le détail par période \({len(eligible_rows)} périodes :")).click()
    expect(page.locator("table.periodes tbody tr")).to_have_count(len(eligible_rows))
    first = eligible_rows[0]
    expect(page.locator("table.periodes tbody tr").first).to_contain_text(
        texte(first["principal"]["due"]).removesuffix("\u00a0MAD")
    )
    visits.check(page, "03b-periodes-eligibles")
    page.get_by_role("link", name="Retour à la créance consolidée").click()

    # 4. nouvelle demande: full payment, the masked account
    page.get_by_role("button", name="Nouvelle demande").click()
    expect(page).to_have_url(re.compile("/modalite$"))
    request_id = request_id_of(page)
    page.get_by_label("Paiement intégral").check()
    account = page.locator("input[name=compte]").first
    expect(page.locator("label", has_text="*" * 20).first).to_be_visible()  # the RIB is masked
    account.check()
    visits.check(page, "04-modalite")
    page.get_by_role("button", name="Continuer", exact=True).click()

    # 5. simulation: the quote simulation issued, shown to the centime
    expect(page).to_have_url(re.compile("/simulation$"))
    # (beyond the guide: a quote this request cannot validate, here one for installments, its id put in
    # the address, is not shown beside the conditions; the unit tests hold the other affiliate's case)
    other = api.simulate(SAHARA, "INSTALLMENTS", installments=3)
    refused = page.context.request.get(
        f"{portal(portal_stack)}/demandes/{request_id}/conditions?devis={other}", max_redirects=0
    )
    assert (refused.status, refused.headers["location"]) == (303, f"/demandes/{request_id}/simulation")
    page.get_by_role("button", name="Simuler", exact=True).click()
    expect(page).to_have_url(re.compile(r"/simulation\?devis="))
    quote = api.quote(quote_id_of(page))
    expect(page.locator("[data-test=a-payer]").first).to_have_text(texte(quote["to_pay"]))
    expect(page.locator("#resultat-simulation")).to_contain_text(texte(quote["remise"]["total"]))
    expect(page.locator("#resultat-simulation")).to_contain_text("60\u00a0%")  # FULL: majorations at 60 %
    visits.check(page, "05-simulation-integrale")

    # 6. conditions générales, then Valider
    page.get_by_role("link", name="Continuer vers les conditions générales").click()
    expect(page.get_by_role("heading", name=re.compile("Conditions générales"))).to_have_count(2)
    page.get_by_role("button", name="Valider la demande").click()
    expect(page.locator(".erreur-champ")).to_have_text("Cochez la case pour accepter les conditions générales.")
    page.get_by_label(re.compile("J'ai lu et j'accepte")).check()
    visits.check(page, "06-conditions")
    page.get_by_role("button", name="Valider la demande").click()

    # 7. prise en charge: the debit date (10th of next month) and the actual collection day
    expect(page).to_have_url(re.compile("/prise-en-charge$"))
    validated = api.request(request_id)
    assert validated["state"] == "VALIDATED"
    [debit] = validated["schedule"]
    due = debit["due_date"]
    assert due.endswith("-10")
    expect(page.locator("[data-test=etat]")).to_have_text("Votre demande est validée.")
    expect(page.locator("[data-test=date-prelevement]")).to_contain_text(f"{due[8:10]}/{due[5:7]}/{due[:4]}")
    expect(page.locator("[data-test=date-prelevement]")).to_contain_text(texte(debit["amount"]))
    visits.check(page, "07-prise-en-charge-integrale")

    # the receipt: request number, quote, schedule, CG version
    receipt = page.context.request.get(f"{portal(portal_stack)}/demandes/{request_id}/recepisse.pdf")
    assert receipt.status == 200 and receipt.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(receipt.body())).pages)
    assert request_id in text
    assert validated["cg_version"] in text
    assert texte(quote["to_pay"]).replace("\u00a0", " ") in text
    # in Arabic for a browser that asks for it (issue 17): shaped, embedded font, the same figures
    arabic = page.context.request.get(
        f"{portal(portal_stack)}/demandes/{request_id}/recepisse.pdf", headers={"accept-language": "ar-MA,ar"}
    )
    arabic_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(arabic.body())).pages)
    assert "er_lang" not in {c["name"] for c in page.context.cookies()}  # no choice made: the browser's language
    assert "وصل طلب الإعفاء" in arabic_text and request_id in arabic_text
    conditions = page.context.request.get(f"{portal(portal_stack)}/conditions.pdf", headers={"accept-language": "ar"})
    conditions_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(conditions.body())).pages)
    assert validated["cg_version"] in conditions_text and "الشروط العامة" in conditions_text

    # 8. mes demandes: the request, its state, its history
    page.get_by_role("link", name="Mes demandes").click()
    expect(page.locator("table.liste-demandes")).to_contain_text("Validée")
    visits.check(page, "08-mes-demandes")
    page.get_by_role("link", name=re.compile("Détail")).first.click()
    expect(page.locator("[data-test=etat]")).to_have_text("Validée")
    expect(page.locator("ol.historique li")).to_have_count(len(validated["history"]))

    # once debits has scheduled the plan, the page shows each debit with its state
    def scheduled() -> bool:
        page.reload()
        return page.locator("table.echeancier .etat").count() == 1

    eventually(scheduled, timeout=60)
    expect(page.locator("table.echeancier .etat")).to_have_text("Planifié")
    visits.check(page, "09-demande-detail")


def test_installments_with_the_slider_to_awaiting_guarantees(
    portal_stack: RunningStack, context: BrowserContext, visits: Visits
) -> None:
    api = Api(portal_stack, SIMPLE)
    api.settled(ATLAS)
    page = context.new_page()
    login(page, portal_stack, SIMPLE)
    expect(page).to_have_url(re.compile("/creance$"))  # one affiliate: no choice to make
    page.get_by_role("button", name="Nouvelle demande").click()

    # the guarantee obligation must be accepted for installments: said next to the field
    page.get_by_label("Paiement par acomptes").check()
    page.locator("input[name=compte]").first.check()
    page.get_by_role("button", name="Continuer", exact=True).click()
    expect(page.locator("#erreur-garanties")).to_have_text(
        "Le paiement par acomptes exige d'accepter l'obligation de déposer des garanties."
    )
    expect(page.locator("#garanties")).to_have_attribute("aria-describedby", "erreur-garanties")
    page.locator("#garanties").check()
    page.get_by_role("button", name="Continuer", exact=True).click()
    expect(page).to_have_url(re.compile("/simulation$"))
    request_id = request_id_of(page)

    # the count, from the list of the counts simulation allows this debt, and by the − / + buttons
    offered = api.options(ATLAS)
    allowed = [n for r in offered["installments_allowed"] for n in range(r["min"], r["max"] + 1)]
    counts = page.locator("#echeances")
    expect(counts.locator("option")).to_have_count(len(allowed))
    assert [int(v) for v in counts.locator("option").evaluate_all("os => os.map(o => o.value)")] == allowed
    counts.select_option("1")
    page.get_by_role("button", name="Une échéance de plus").click()
    page.get_by_role("button", name="Une échéance de plus").click()
    page.get_by_role("button", name="Une échéance de plus").click()
    page.get_by_role("button", name="Une échéance de moins").click()
    expect(counts).to_have_value(str(allowed[min(2, len(allowed) - 1)]))
    page.get_by_label("Avance (MAD)").fill("1000,00")

    # a count this advance makes too small, said next to the list, the advance kept as typed: the
    # largest count offered, with an advance leaving 2999.99 per installment
    largest = allowed[-1]
    tier = next(o for o in offered["options"] if o["available"] and o["max_installments"] == largest)
    advance = Decimal(tier["to_pay"]) - (Decimal("3000.00") - Decimal("0.01")) * largest
    typed = f"{advance:.2f}".replace(".", ",")
    counts.select_option(str(largest))
    page.get_by_label("Avance (MAD)").fill(typed)
    page.get_by_role("button", name="Simuler", exact=True).click()
    expect(page.locator("#erreur-echeances")).to_contain_text("choisissez")
    expect(page.locator("#echeances")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Avance (MAD)")).to_have_value(typed)  # kept as typed
    visits.check(page, "10a-simulation-refusee")
    page.get_by_label("Avance (MAD)").fill("1000,00")
    page.locator("#echeances").select_option("3")
    page.get_by_role("button", name="Simuler", exact=True).click()
    quote = api.quote(quote_id_of(page))
    assert (quote["modality"], quote["installments"], quote["advance"]) == ("INSTALLMENTS", 3, "1000.00")
    expect(page.locator("table.echeancier tbody tr")).to_have_count(len(quote["schedule"]))
    for debit in quote["schedule"]:
        expect(page.locator("table.echeancier")).to_contain_text(texte(debit["amount"]))

    # beyond the guide: the tiers compared, and a plan for a monthly budget
    expect(page.locator("section", has_text="Comparer les paliers").locator("tbody tr")).to_have_count(3)
    page.get_by_label("Je peux payer par mois").fill("quatre mille")
    page.get_by_role("button", name="Proposer un plan").click()
    expect(page.locator("#erreur-budget")).to_have_text("Saisissez un montant mensuel en dirhams, par exemple 4000,00.")
    page.get_by_label("Je peux payer par mois").fill("4000")
    page.get_by_role("button", name="Proposer un plan").click()
    expect(page.locator(".suggestion, .alerte[role=status]").first).to_be_visible()
    visits.check(page, "10-simulation-acomptes")

    # back to a plan, then the conditions and the validation
    page.locator("#echeances").select_option("3")
    page.get_by_role("button", name="Simuler", exact=True).click()
    page.get_by_role("link", name="Continuer vers les conditions générales").click()
    page.get_by_label(re.compile("J'ai lu et j'accepte")).check()
    page.get_by_role("button", name="Valider la demande").click()

    expect(page).to_have_url(re.compile("/prise-en-charge$"))
    awaiting = api.request(request_id)
    assert awaiting["state"] == "AWAITING_GUARANTEE"
    deadline = awaiting["guarantee_deadline"]
    expect(page.locator("[data-test=etat]")).to_contain_text("en attente des garanties")
    expect(page.locator("[data-test=etat]")).to_contain_text("Perception Casablanca Anfa")
    expect(page.locator("[data-test=etat]")).to_contain_text(f"{deadline[8:10]}/{deadline[5:7]}/{deadline[:4]}")
    visits.check(page, "11-prise-en-charge-acomptes")

    # the affiliate is told too: "Mes notifications" lists the guarantee request (e-mail and SMS)
    notifications = page.locator("table.liste-notifications")
    for _ in range(60):  # the event reaches notifications by Kafka
        page.goto(f"{portal(portal_stack)}/notifications")
        if notifications.count() and notifications.inner_text().count("Garanties à déposer") == 2:
            break
        time.sleep(0.5)
    expect(notifications).to_contain_text("E-mail")
    expect(notifications).to_contain_text("SMS")
    visits.check(page, "12-notifications")

    # withdrawal from "mes demandes", confirmed
    page.goto(f"{portal(portal_stack)}/demandes/{request_id}")
    page.get_by_role("button", name="Retirer la demande").click()
    expect(page.locator("#erreur-confirmation")).to_be_visible()
    page.get_by_label(re.compile("Je confirme vouloir retirer")).check()
    page.get_by_role("button", name="Retirer la demande").click()
    expect(page.locator("[data-test=etat]")).to_have_text("Annulée")
    assert api.request(request_id)["state"] == "CANCELLED"


def test_the_arrangement_affiliate_is_sent_to_its_perception(
    portal_stack: RunningStack, context: BrowserContext, visits: Visits
) -> None:
    Api(portal_stack, GROUPE).settled(FES_ARRANGEMENT)
    page = context.new_page()
    login(page, portal_stack, GROUPE)
    page.locator("button.affilie", has_text=FES_ARRANGEMENT).click()
    refusal = page.locator("li[data-code=arrangement-actif]")
    expect(refusal).to_contain_text("veuillez vous adresser à la Perception Fès Saïs")
    expect(page.get_by_role("button", name="Nouvelle demande")).to_have_count(0)
    visits.check(page, "12-arrangement")


def test_arabic_pages_are_right_to_left(portal_stack: RunningStack, context: BrowserContext, visits: Visits) -> None:
    api = Api(portal_stack, ARABE)
    api.settled(ARABE_AFFILIE)
    page = context.new_page()
    page.goto(f"{portal(portal_stack)}/connexion")
    page.get_by_role("link", name="العربية").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    expect(page.get_by_role("heading", level=1)).to_have_text("تسجيل الدخول")
    visits.check(page, "13-connexion-ar")
    page.get_by_label("اسم المستخدم").fill(ARABE)
    page.get_by_label("كلمة المرور").fill("Demo-2024!")
    page.get_by_role("button", name="دخول").click()
    expect(page).to_have_url(re.compile("/creance$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("الدين الموحد")
    total = api.debt(ARABE_AFFILIE)["totals"]["eligible"]["total"]
    expect(page.locator("[data-test=total-eligible]")).to_have_text(texte(total))  # 12 345,60 MAD
    direction = page.evaluate("getComputedStyle(document.querySelector('main')).direction")
    assert direction == "rtl"
    visits.check(page, "14-creance-ar")
    page.get_by_role("button", name="طلب جديد").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("طلب جديد")
    visits.check(page, "15-modalite-ar")
    page.get_by_role("link", name="Français").click()
    expect(page.locator("html")).to_have_attribute("dir", "ltr")


def test_full_payment_works_without_javascript(portal_stack: RunningStack, browser: Browser, visits: Visits) -> None:
    api = Api(portal_stack, SANS_JS)
    api.settled(SANS_JS_AFFILIE)
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        login(page, portal_stack, SANS_JS)
        page.get_by_role("button", name="Nouvelle demande").click()
        page.get_by_label("Paiement intégral").check()
        page.locator("input[name=compte]").first.check()
        page.get_by_role("button", name="Continuer", exact=True).click()
        page.get_by_role("button", name="Simuler", exact=True).click()
        quote = api.quote(quote_id_of(page))
        expect(page.locator("[data-test=a-payer]").first).to_have_text(texte(quote["to_pay"]))
        page.get_by_role("link", name="Continuer vers les conditions générales").click()
        page.get_by_label(re.compile("J'ai lu et j'accepte")).check()
        page.get_by_role("button", name="Valider la demande").click()
        expect(page).to_have_url(re.compile("/prise-en-charge$"))
        expect(page.locator("[data-test=etat]")).to_have_text("Votre demande est validée.")
        assert api.request(request_id_of(page))["state"] == "VALIDATED"
    finally:
        context.close()


def test_wrong_password_and_lockout_are_said_clearly(portal_stack: RunningStack, context: BrowserContext) -> None:
    page = context.new_page()
    login(page, portal_stack, VERROU, "mauvais")
    expect(page.locator("#erreur-connexion")).to_contain_text("Identifiant ou mot de passe incorrect.")
    expect(page.get_by_label("Identifiant")).to_have_attribute("aria-invalid", "true")
    for _ in range(6):
        login(page, portal_stack, VERROU, "mauvais")
    expect(page.locator("#erreur-connexion")).to_contain_text("temporairement verrouillé")
    expect(page.locator("#erreur-connexion")).to_contain_text(re.compile(r"à partir de \d\d:\d\d — \d\d/\d\d/\d{4}"))
    login(page, portal_stack, VERROU)  # the right password, but still locked
    expect(page.locator("#erreur-connexion")).to_contain_text("temporairement verrouillé")


def test_keyboard_only_login_with_a_visible_focus(portal_stack: RunningStack, context: BrowserContext) -> None:
    page = context.new_page()
    page.goto(f"{portal(portal_stack)}/connexion")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.className") == "skip"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    page.locator("#identifiant").focus()
    page.keyboard.type(SIMPLE)
    page.keyboard.press("Tab")
    page.keyboard.type("Demo-2024!")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("/creance$"))


def test_session_cookie_csrf_and_errors_as_pages(portal_stack: RunningStack, context: BrowserContext) -> None:
    page = context.new_page()
    login(page, portal_stack, GROUPE)
    [cookie] = [c for c in context.cookies() if c["name"] == "er_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie").find("er_session") == -1  # out of JavaScript's reach
    page.locator("button.affilie", has_text=SAHARA).click()
    base = portal(portal_stack)

    # a form without its CSRF token is refused, readably
    forged = page.context.request.post(f"{base}/demandes", form={"csrf": "forged"})
    assert forged.status == 403 and "Le formulaire a expiré" in forged.text()
    # someone else's or an unknown request: a readable page, never a 5xx
    unknown = page.context.request.get(f"{base}/demandes/00000000-0000-4000-8000-000000000000")
    assert unknown.status == 404 and "Demande introuvable" in unknown.text()
    assert "x-trace-id" in unknown.headers
    # a second request while one is in progress: the refusal is said, with a link to the first
    csrf = page.locator("input[name=csrf]").first.get_attribute("value") or ""
    page.context.request.post(f"{base}/demandes", form={"csrf": csrf}, max_redirects=0)
    again = page.context.request.post(f"{base}/demandes", form={"csrf": csrf}, max_redirects=0)
    assert again.status == 409 and "Une demande est déjà en cours" in again.text()
    assert re.search(r'href="/demandes/[0-9a-f-]{36}"', again.text())
    # nothing the portal answered was a server error
    for path in ("/creance", "/demandes", "/affilies", "/nulle-part"):
        assert page.context.request.get(f"{base}{path}").status < 500

    # logout ends the session server-side: the old cookie opens nothing any more
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page).to_have_url(re.compile("/connexion"))
    replay = httpx.get(f"{base}/creance", cookies={"er_session": cookie["value"]}, follow_redirects=False)
    assert replay.status_code == 303 and "/connexion" in replay.headers["location"]


def test_one_trace_from_the_page_through_the_services(
    portal_stack: RunningStack, context: BrowserContext, otlp: OtlpReceiver
) -> None:
    page = context.new_page()
    login(page, portal_stack, GROUPE)
    with page.expect_response(re.compile("/affilies$")) as chosen:
        page.locator("button.affilie", has_text=SAHARA).click()
    response = page.context.request.get(f"{portal(portal_stack)}/creance")
    trace_id = response.headers["x-trace-id"]

    def reached() -> bool:
        # each process exports its spans in its own batches: wait for all of them, not the first
        spans = {(s.service, s.name) for s in otlp.trace(trace_id)}
        return {("portal", "GET debt"), ("portal", "GET requests")} <= spans and {"debt", "requests"} <= {
            service for service, _ in spans
        }

    eventually(reached)
    assert chosen.value.status == 303
    portal_spans = [s for s in otlp.trace(trace_id) if s.service == "portal"]
    assert any(s.attributes.get("db.system") == "postgresql" for s in portal_spans)  # the session read
