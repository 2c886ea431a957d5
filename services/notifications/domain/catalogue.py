# ruff: noqa: E501  (sentences are kept whole, one per line, as translators read them)
"""THE catalogue of what notifications say, in French and Arabic: one subject and one e-mail body per
kind, and one SMS text (short: an SMS costs per 160 characters). Amounts the Moroccan way
(``contracts.money.format_amount``: ``12 500,50 MAD``), dates ``10/01/2027``; the account masked as
debits masked it (``****…1234``): a full RIB never reaches this service.

A template names its facts with ``{name}``; ``render`` fills them in, formatted, and a fact missing
from a notice is a bug caught by the catalogue's test, not a message sent with a hole.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from string import Formatter

from contracts.auth import Language
from contracts.money import format_amount
from services.notifications.domain.notices import KINDS, Channel, Kind

AMOUNTS = frozenset({"amount", "to_pay", "remise", "first_amount", "total_paid", "advance"})
DATES = frozenset({"deadline", "first_collection", "collection_date", "next_attempt_on", "completed_on", "due_on"})

SIGNATURE = {
    "fr": "\n\nCNSS — Espace Recouvrement\nCe message est envoyé automatiquement ; n'y répondez pas.",
    "ar": "\n\nالصندوق الوطني للضمان الاجتماعي — فضاء التحصيل\nهذه رسالة آلية، المرجو عدم الرد عليها.",
}

REJECTION_REASONS: dict[str, dict[str, str]] = {
    "AM04": {"fr": "provision insuffisante", "ar": "رصيد غير كاف"},
    "AC04": {"fr": "compte clôturé", "ar": "حساب مغلق"},
    "AC06": {"fr": "compte bloqué", "ar": "حساب مجمد"},
    "AC01": {"fr": "numéro de compte incorrect", "ar": "رقم حساب غير صحيح"},
    "MD01": {"fr": "pas de mandat", "ar": "لا يوجد تفويض"},
    "MS02": {"fr": "refus du titulaire", "ar": "رفض صاحب الحساب"},
    "MS03": {"fr": "motif non précisé par la banque", "ar": "سبب لم يحدده البنك"},
}


@dataclass(frozen=True)
class Template:
    subject: dict[Language, str]
    email: dict[Language, str]
    sms: dict[Language, str]


CATALOGUE: dict[str, Template] = {
    "request_validated": Template(
        subject={"fr": "Votre demande de remise est validée", "ar": "تمت المصادقة على طلب الإعفاء الخاص بكم"},
        email={
            "fr": (
                "Madame, Monsieur,\n\nVotre demande de remise n° {request} (affilié {affiliate}) est validée.\n"
                "Remise accordée : {remise}. Reste à payer : {to_pay}.\n"
                "Premier prélèvement : {first_amount} le {first_collection}."
            ),
            "ar": (
                "سيدتي، سيدي،\n\nتمت المصادقة على طلب الإعفاء رقم {request} (المنخرط {affiliate}).\n"
                "الإعفاء الممنوح: {remise}. المبلغ المتبقي للأداء: {to_pay}.\n"
                "الاقتطاع الأول: {first_amount} بتاريخ {first_collection}."
            ),
        },
        sms={
            "fr": "CNSS: demande {request} validee. Remise {remise}. 1er prelevement {first_amount} le {first_collection}.",
            "ar": "CNSS: تمت المصادقة على الطلب {request}. الإعفاء {remise}. الاقتطاع الأول {first_amount} في {first_collection}.",
        },
    ),
    "guarantee_required": Template(
        subject={"fr": "Garanties à déposer avant le {deadline}", "ar": "ضمانات يجب إيداعها قبل {deadline}"},
        email={
            "fr": (
                "Madame, Monsieur,\n\nVotre demande de remise n° {request} (affilié {affiliate}) attend vos garanties.\n"
                "Montant à garantir : {amount}. Déposez-les à la {office} au plus tard le {deadline} ;"
                " passé ce délai, la demande expire."
            ),
            "ar": (
                "سيدتي، سيدي،\n\nطلب الإعفاء رقم {request} (المنخرط {affiliate}) في انتظار ضماناتكم.\n"
                "المبلغ المطلوب ضمانه: {amount}. المرجو إيداعها لدى {office} في أجل أقصاه {deadline}؛"
                " بعد هذا الأجل ينتهي الطلب."
            ),
        },
        sms={
            "fr": "CNSS: demande {request}: deposez vos garanties ({amount}) a la {office} avant le {deadline}.",
            "ar": "CNSS: الطلب {request}: المرجو إيداع الضمانات ({amount}) لدى {office} قبل {deadline}.",
        },
    ),
    "guarantee_reminder": Template(
        subject={
            "fr": "Rappel : garanties à déposer avant le {deadline}",
            "ar": "تذكير: ضمانات يجب إيداعها قبل {deadline}",
        },
        email={
            "fr": (
                "Madame, Monsieur,\n\nRappel : les garanties de votre demande de remise n° {request} (affilié"
                " {affiliate}) ne sont pas encore déposées. Montant à garantir : {amount}.\n"
                "Dernier jour pour les déposer à la {office} : {deadline}. Passé ce délai, la demande expire."
            ),
            "ar": (
                "سيدتي، سيدي،\n\nتذكير: لم يتم بعد إيداع ضمانات طلب الإعفاء رقم {request} (المنخرط {affiliate})."
                " المبلغ المطلوب ضمانه: {amount}.\n"
                "آخر أجل لإيداعها لدى {office}: {deadline}. بعد هذا الأجل ينتهي الطلب."
            ),
        },
        sms={
            "fr": "CNSS rappel: demande {request}, garanties ({amount}) a deposer a la {office} avant le {deadline}.",
            "ar": "CNSS تذكير: الطلب {request}، ضمانات ({amount}) يجب إيداعها لدى {office} قبل {deadline}.",
        },
    ),
    "guarantees_accepted": Template(
        subject={"fr": "Garanties acceptées : votre plan commence", "ar": "تم قبول الضمانات: يبدأ مخطط الأداء"},
        email={
            "fr": (
                "Madame, Monsieur,\n\nLes garanties de votre demande de remise n° {request} (affilié {affiliate})"
                " sont enregistrées ; la demande est validée.\nRemise accordée : {remise}. Reste à payer : {to_pay}.\n"
                "Premier prélèvement : {first_amount} le {first_collection}."
            ),
            "ar": (
                "سيدتي، سيدي،\n\nتم تسجيل ضمانات طلب الإعفاء رقم {request} (المنخرط {affiliate})؛ وتمت المصادقة"
                " على الطلب.\nالإعفاء الممنوح: {remise}. المبلغ المتبقي للأداء: {to_pay}.\n"
                "الاقتطاع الأول: {first_amount} بتاريخ {first_collection}."
            ),
        },
        sms={
            "fr": "CNSS: garanties acceptees, demande {request} validee. 1er prelevement {first_amount} le {first_collection}.",
            "ar": "CNSS: تم قبول الضمانات والمصادقة على الطلب {request}. الاقتطاع الأول {first_amount} في {first_collection}.",
        },
    ),
    "guarantees_refused": Template(
        subject={"fr": "Garanties refusées : demande rejetée", "ar": "رفض الضمانات: تم رفض الطلب"},
        email={
            "fr": (
                "Madame, Monsieur,\n\nLa {office} a refusé les garanties de votre demande de remise n° {request}"
                " (affilié {affiliate}) ; la demande est rejetée.\nMotif : {reason}\n"
                "Vous pouvez déposer une nouvelle demande pendant la campagne."
            ),
            "ar": (
                "سيدتي، سيدي،\n\nرفضت {office} ضمانات طلب الإعفاء رقم {request} (المنخرط {affiliate})؛ وتم رفض الطلب.\n"
                "السبب: {reason}\nيمكنكم تقديم طلب جديد خلال الحملة."
            ),
        },
        sms={
            "fr": "CNSS: garanties de la demande {request} refusees par la {office}, demande rejetee. Details par e-mail.",
            "ar": "CNSS: رفضت {office} ضمانات الطلب {request}، تم رفض الطلب. التفاصيل عبر البريد الإلكتروني.",
        },
    ),
    "guarantee_deadline_passed": Template(
        subject={"fr": "Délai de dépôt des garanties dépassé", "ar": "انقضاء أجل إيداع الضمانات"},
        email={
            "fr": (
                "Madame, Monsieur,\n\nAucune garantie n'a été enregistrée pour votre demande de remise n° {request}"
                " (affilié {affiliate}) au {deadline} : la demande a expiré. Vous pouvez en déposer une nouvelle"
                " pendant la campagne."
            ),
            "ar": (
                "سيدتي، سيدي،\n\nلم يتم تسجيل أي ضمان لطلب الإعفاء رقم {request} (المنخرط {affiliate}) في {deadline}:"
                " انتهت صلاحية الطلب. يمكنكم تقديم طلب جديد خلال الحملة."
            ),
        },
        sms={
            "fr": "CNSS: demande {request} expiree, garanties non deposees au {deadline}.",
            "ar": "CNSS: انتهت صلاحية الطلب {request}، لم تودع الضمانات في {deadline}.",
        },
    ),
    "debit_coming": Template(
        subject={"fr": "Prélèvement du {collection_date} : {amount}", "ar": "اقتطاع {collection_date}: {amount}"},
        email={
            "fr": (
                "Madame, Monsieur,\n\nLe {collection_date}, {amount} seront prélevés sur votre compte {account}"
                " ({bank}) : échéance {sequence} de la demande de remise n° {request} (affilié {affiliate}).\n"
                "Veillez à ce que le compte soit approvisionné."
            ),
            "ar": (
                "سيدتي، سيدي،\n\nبتاريخ {collection_date} سيتم اقتطاع {amount} من حسابكم {account} ({bank}):"
                " القسط {sequence} من طلب الإعفاء رقم {request} (المنخرط {affiliate}).\n"
                "المرجو التأكد من توفر الرصيد الكافي."
            ),
        },
        sms={
            "fr": "CNSS: prelevement de {amount} le {collection_date} sur le compte {account} (demande {request}).",
            "ar": "CNSS: اقتطاع {amount} في {collection_date} من الحساب {account} (الطلب {request}).",
        },
    ),
    "debit_rejected": Template(
        subject={"fr": "Prélèvement rejeté par votre banque", "ar": "رفض البنك للاقتطاع"},
        email={
            "fr": (
                "Madame, Monsieur,\n\nVotre banque a rejeté le prélèvement de {amount} (échéance {sequence} de la"
                " demande n° {request}, affilié {affiliate}) : {reason} ({reason_code}).\n{next_step}"
            ),
            "ar": (
                "سيدتي، سيدي،\n\nرفض بنككم اقتطاع {amount} (القسط {sequence} من الطلب رقم {request}، المنخرط"
                " {affiliate}): {reason} ({reason_code}).\n{next_step}"
            ),
        },
        sms={
            "fr": "CNSS: prelevement de {amount} rejete ({reason_code}), demande {request}. {next_step}",
            "ar": "CNSS: رفض اقتطاع {amount} ({reason_code})، الطلب {request}. {next_step}",
        },
    ),
    "contributions_notice": Template(
        subject={"fr": "Mise en demeure : cotisations courantes impayées", "ar": "إنذار: اشتراكات جارية غير مؤداة"},
        email={
            "fr": (
                "Madame, Monsieur,\n\nLes cotisations courantes de la période {period} ({amount}, exigibles le {due_on})"
                " ne sont pas réglées. Pendant un plan de remise, elles doivent l'être (article 2 des conditions"
                " générales).\nRéglez-les au plus tard le {deadline} : passé ce délai, le plan de la demande n° {request}"
                " (affilié {affiliate}) sera déchu et la remise de nouveau due."
            ),
            "ar": (
                "سيدتي، سيدي،\n\nلم يتم أداء الاشتراكات الجارية عن الفترة {period} ({amount}، المستحقة في {due_on})."
                " خلال مخطط الإعفاء يجب أداؤها (المادة 2 من الشروط العامة).\nالمرجو أداؤها في أجل أقصاه {deadline}:"
                " بعد هذا الأجل يسقط مخطط الطلب رقم {request} (المنخرط {affiliate}) ويصبح الإعفاء مستحقا من جديد."
            ),
        },
        sms={
            "fr": "CNSS: cotisations {period} impayees ({amount}). Reglez-les avant le {deadline}, sinon le plan {request} sera dechu.",
            "ar": "CNSS: اشتراكات {period} غير مؤداة ({amount}). المرجو أداؤها قبل {deadline} وإلا سقط المخطط {request}.",
        },
    ),
    "plan_defaulted": Template(
        subject={"fr": "Votre plan de paiement est déchu", "ar": "سقوط مخطط الأداء الخاص بكم"},
        email={
            "fr": (
                "Madame, Monsieur,\n\nLe plan de la demande de remise n° {request} (affilié {affiliate}) est déchu :"
                " {reason}.\nLa remise de {remise} n'est plus acquise : les majorations, astreintes et frais remis sont"
                " de nouveau dus ; les paiements faits restent imputés."
            ),
            "ar": (
                "سيدتي، سيدي،\n\nسقط مخطط الأداء الخاص بطلب الإعفاء رقم {request} (المنخرط {affiliate}): {reason}.\n"
                "لم يعد الإعفاء البالغ {remise} مكتسبا: الزيادات والغرامات والمصاريف المعفاة مستحقة من جديد، وتبقى"
                " الأداءات المنجزة محتسبة."
            ),
        },
        sms={
            "fr": "CNSS: plan de la demande {request} dechu, la remise de {remise} est de nouveau due.",
            "ar": "CNSS: سقط مخطط الطلب {request}، الإعفاء {remise} مستحق من جديد.",
        },
    ),
    "plan_completed": Template(
        subject={"fr": "Plan soldé : votre remise est définitive", "ar": "تمت تسوية المخطط: الإعفاء نهائي"},
        email={
            "fr": (
                "Madame, Monsieur,\n\nLe plan de la demande de remise n° {request} (affilié {affiliate}) est soldé"
                " le {completed_on}. La remise de {remise} est définitive.\n"
                "Vous trouverez ci-joint l'attestation de remise définitive."
            ),
            "ar": (
                "سيدتي، سيدي،\n\nتمت تسوية مخطط طلب الإعفاء رقم {request} (المنخرط {affiliate}) بتاريخ {completed_on}."
                " أصبح الإعفاء البالغ {remise} نهائيا.\nتجدون رفقته شهادة الإعفاء النهائي."
            ),
        },
        sms={
            "fr": "CNSS: plan de la demande {request} solde, remise de {remise} definitive. Attestation envoyee par e-mail.",
            "ar": "CNSS: تمت تسوية مخطط الطلب {request}، الإعفاء {remise} نهائي. أرسلت الشهادة عبر البريد الإلكتروني.",
        },
    ),
}

NEXT_STEP = {
    "again": {
        "fr": "Il sera présenté de nouveau le {next_attempt_on} : approvisionnez votre compte d'ici là.",
        "ar": "سيتم تقديمه من جديد بتاريخ {next_attempt_on}: المرجو توفير الرصيد قبل ذلك.",
    },
    "final": {
        "fr": "Il ne sera pas présenté de nouveau : le plan est déchu (article 4).",
        "ar": "لن يتم تقديمه من جديد: سقط المخطط (المادة 4).",
    },
}


def date_text(value: str) -> str:
    return date.fromisoformat(value).strftime("%d/%m/%Y")


def _formatted(facts: dict[str, str], language: Language) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in facts.items():
        if name in AMOUNTS:
            out[name] = format_amount(Decimal(value))
        elif name in DATES and value:
            out[name] = date_text(value)
        else:
            out[name] = value
    if "reason_code" in facts:
        code = facts["reason_code"]
        out["reason"] = REJECTION_REASONS.get(code, {}).get(language, facts.get("reason", code))
        step = NEXT_STEP["again" if facts.get("next_attempt_on") else "final"][language]
        out["next_step"] = step.format(**out)
    return out


def fields_of(template: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(template) if name}


@dataclass(frozen=True)
class Message:
    subject: str
    text: str


def render(kind: Kind, channel: Channel, language: Language, facts: dict[str, str]) -> Message:
    """The message of a notice in the affiliate's language; ``KeyError`` on a fact the template names
    and the notice lacks (a bug, never sent half-filled)."""
    template = CATALOGUE[kind]
    values = _formatted(facts, language)
    subject = template.subject[language].format(**values)
    if channel == "sms":
        return Message(subject, template.sms[language].format(**values))
    return Message(subject, template.email[language].format(**values) + SIGNATURE[language])


assert set(CATALOGUE) == set(KINDS), "every kind has its template"
