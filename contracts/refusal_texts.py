"""Every refusal code said in French and in Arabic: one catalogue for the services' problem+json
(``Accept-Language``) and for the portal's pages (issue 17).

A refusal travels as a stable ``code`` with its figures as fields of their own (amounts as decimal
strings, counts, dates ISO); its sentence is made here from those figures, amounts written the
Moroccan way (``contracts.money.format_amount``). An empty French sentence keeps the service's own
(a refusal without figures, whose French the service already says); every code has its Arabic
(``tests/unit/test_refusal_texts.py`` fails on a code any service can send that has none).
"""

import re
from collections.abc import Callable, Mapping
from typing import Any

from contracts.languages import DEFAULT, LANGUAGES, Language, fill
from contracts.money import format_amount

__all__ = ["DEFAULT", "LANGUAGES", "Language", "counts_text", "field_message", "language_of", "sentence"]

TEXTS: dict[str, dict[Language, str]] = {
    # eligibility and requests
    "demande-en-cours": {"fr": "", "ar": "يوجد طلب قيد المعالجة لهذا المنخرط."},
    "arrangement-actif": {"fr": "", "ar": "يستفيد هذا المنخرط من اتفاق جار: يرجى التوجه إلى القباضة."},
    "rien-a-remettre": {"fr": "", "ar": "لا توجد أي زيادات أو غرامات أو مصاريف مستحقة على الفترات المؤهلة."},
    "rien-a-payer": {"fr": "", "ar": "بعد الإعفاء، لا يتبقى أي مبلغ للأداء."},
    "creance-inconnue": {"fr": "", "ar": "دين هذا المنخرط غير متوفر بعد: يرجى المحاولة بعد لحظات."},
    "creance-introuvable": {"fr": "", "ar": "لا يوجد أي دين معروف لهذا المنخرط."},
    "programme-ferme": {"fr": "", "ar": "البرنامج لا يقبل الطلبات في هذا التاريخ."},
    "defaillance-anterieure": {"fr": "", "ar": "سقط طلب سابق لهذا المنخرط: لا يمكن إيداع طلب جديد."},
    "demande-introuvable": {"fr": "", "ar": "الطلب غير موجود لهذا الحساب."},
    "demande-non-modifiable": {"fr": "", "ar": "لم يعد الطلب مسودة: لا يمكن تعديله."},
    "demande-non-expiree": {"fr": "", "ar": "لا يمكن إعادة فتح إلا طلب منتهي الصلاحية."},
    "brouillon-actif": {"fr": "", "ar": "تم استعمال المسودة مؤخرا."},
    "modalite-requise": {"fr": "", "ar": "يرجى أولا اختيار طريقة الأداء."},
    "compte-bancaire-requis": {"fr": "", "ar": "يرجى أولا اختيار الحساب البنكي المراد الاقتطاع منه."},
    "compte-bancaire-inconnu": {"fr": "", "ar": "هذا الحساب البنكي غير مسجل لهذا المنخرط."},
    "obligation-garanties-requise": {"fr": "", "ar": "يستلزم الأداء بالأقساط قبول الالتزام بإيداع الضمانات."},
    "perception-inconnue": {
        "fr": "",
        "ar": "لا يمكن حاليا طلب الضمانات من القباضة المكلفة بهذا المنخرط: يرجى المحاولة بعد لحظات أو اختيار الأداء الكلي.",
    },
    "cg-non-acceptees": {"fr": "", "ar": "يجب قبول الشروط العامة للمصادقة."},
    "cg-version-perimee": {"fr": "", "ar": "الشروط العامة المقبولة ليست السارية: يرجى قراءة وقبول النسخة الحالية."},
    "retrait-impossible": {"fr": "", "ar": "لا يمكن سحب إلا طلب في طور المسودة أو في انتظار الضمانات."},
    "pas-de-plan-en-cours": {"fr": "", "ar": "ليس لهذا الطلب مخطط أداء جار."},
    "pas-de-validation-en-attente": {"fr": "", "ar": "لا يعاد الإعلان إلا عن طلب مصادق عليه دون جدول اقتطاعات."},
    "motif-requis": {"fr": "", "ar": "سبب إعادة الفتح مطلوب."},
    # quotes
    "devis-expire": {"fr": "", "ar": "انتهت صلاحية العرض: يرجى إعادة المحاكاة."},
    "devis-perime": {"fr": "", "ar": "تغير الدين منذ المحاكاة: يرجى إعادة المحاكاة."},
    "devis-remplace": {"fr": "", "ar": "تم تعويض هذا العرض بمحاكاة أحدث: يرجى المصادقة على آخر عرض."},
    "devis-autre-modalite": {"fr": "", "ar": "العرض لا يطابق طريقة الأداء المختارة: يرجى إعادة المحاكاة."},
    "devis-autre-programme": {"fr": "", "ar": "هذا العرض تابع لبرنامج آخر: يرجى إعادة المحاكاة."},
    "devis-introuvable": {"fr": "", "ar": "العرض غير موجود: يرجى إعادة المحاكاة."},
    "devis-autre-affilie": {"fr": "", "ar": "العرض لا يخص هذا المنخرط."},
    "sceau-invalide": {"fr": "", "ar": "ختم العرض غير صالح: يرجى إعادة المحاكاة."},
    "avance-hors-limites": {
        "fr": "L'avance doit être comprise entre {advance_min} et {advance_max} (inférieure au montant à payer).",
        "ar": "يجب أن يكون التسبيق بين {advance_min} و {advance_max}.",
    },
    "echeances-hors-limites": {
        "fr": "Le programme permet {plages} échéances ; {installments} n'en fait pas partie.",
        "ar": "يسمح البرنامج بعدد أقساط {plages}؛ العدد {installments} غير مسموح به.",
    },
    "echeance-sous-minimum": {
        "fr": "Chaque échéance doit atteindre {minimum_installment} ; avec {installments:echeances} elle serait de "
        "{installment_amount}. Avec cette avance, choisissez au plus {max_installments_allowed:echeances}.",
        "ar": "يجب ألا يقل كل قسط عن {minimum_installment}؛ مع هذا التسبيق، اختر على الأكثر {max_installments_allowed:echeances-objet}.",
    },
    "echeance-sous-minimum.plages": {
        "fr": "Chaque échéance doit atteindre {minimum_installment} ; avec {installments:echeances} elle serait de "
        "{installment_amount}. Avec cette avance, choisissez {plages} échéances.",
        "ar": "يجب ألا يقل كل قسط عن {minimum_installment}؛ مع هذا التسبيق، اختر عددا من الأقساط {plages}.",
    },
    "echeance-sous-minimum.sans-plan": {
        "fr": "Chaque échéance doit atteindre {minimum_installment} ; avec {installments:echeances} elle serait de "
        "{installment_amount}. Avec cette avance, aucun plan par acomptes n'est possible : réduisez l'avance ou "
        "payez intégralement.",
        "ar": "يجب ألا يقل كل قسط عن {minimum_installment}؛ مع هذا التسبيق، لا يمكن أي أداء بالأقساط: خفضوا التسبيق أو أدوا المبلغ كاملا.",
    },
    "budget-insuffisant": {
        "fr": "Avec {monthly_budget} par mois, aucun plan n'est possible : il faut au moins {minimum_monthly_budget} "
        "par mois ({installments:echeances}).",
        "ar": "لا يوجد أي مخطط ممكن بمبلغ {monthly_budget} شهريا: يلزم على الأقل {minimum_monthly_budget} شهريا ({installments:echeances}).",
    },
    "budget-insuffisant.integral": {
        "fr": "Avec {monthly_budget} par mois, aucun plan n'est possible : il faut au moins {minimum_monthly_budget} "
        "(paiement intégral en une fois).",
        "ar": "لا يوجد أي مخطط ممكن بمبلغ {monthly_budget} شهريا: يلزم على الأقل {minimum_monthly_budget} (أداء كلي دفعة واحدة).",
    },
    "montant-hors-limites": {"fr": "", "ar": "مبلغ الدين يتجاوز قدرة النظام: يرجى التوجه إلى القباضة."},
    "parametres-incoherents": {"fr": "", "ar": "المعطيات المدخلة غير متناسقة."},
    # guarantees (the perceptions' answers: dead letters' reasons and operators' commands)
    "aucun-depot-recu": {"fr": "", "ar": "لم يتم التوصل بأي إيداع للضمانات من القباضة بخصوص هذا الطلب."},
    "delai-non-echu": {"fr": "", "ar": "أجل إيداع الضمانات لم ينته بعد."},
    "depot-hors-delai": {"fr": "", "ar": "أودعت الضمانات بعد انتهاء الأجل: يبقى الطلب منتهي الصلاحية."},
    "depot-mal-date": {"fr": "", "ar": "تاريخ الإيداع خارج مدة حياة الطلب."},
    "garanties-hors-delai": {"fr": "", "ar": "جواب مؤرخ بعد انتهاء أجل إيداع الضمانات."},
    "pas-en-attente-de-garanties": {"fr": "", "ar": "هذا الطلب ليس في انتظار الضمانات."},
    "perception-non-sollicitee": {"fr": "", "ar": "جواب من قباضة لم تطلب منها الضمانات."},
    "reponse-avant-la-demande": {"fr": "", "ar": "جواب مؤرخ قبل تاريخ الطلب."},
    "reponse-dans-le-futur": {"fr": "", "ar": "جواب مؤرخ بتاريخ لاحق لليوم."},
    # debits (bank files and transitions: operators' commands and dead letters)
    "compte-invalide": {"fr": "", "ar": "الحساب البنكي غير صالح."},
    "fichier-refuse": {"fr": "", "ar": "تم رفض الملف بأكمله."},
    "transition-refusee": {"fr": "", "ar": "هذا التغيير غير مسموح به في الحالة الحالية للاقتطاع."},
    # sessions and tokens
    "identifiants-invalides": {"fr": "", "ar": "اسم المستخدم أو كلمة المرور غير صحيحة."},
    "compte-verrouille": {"fr": "", "ar": "محاولات فاشلة كثيرة: تم قفل الولوج مؤقتا."},
    "trop-de-tentatives": {"fr": "", "ar": "محاولات اتصال كثيرة في وقت قصير: يرجى المحاولة لاحقا."},
    "session-invalide": {"fr": "", "ar": "انتهت الجلسة أو أغلقت. يرجى إعادة الاتصال."},
    "non-authentifie": {"fr": "", "ar": "المصادقة مطلوبة."},
    "jeton-invalide": {"fr": "", "ar": "رمز الولوج غير صالح أو منتهي الصلاحية. يرجى إعادة الاتصال."},
    "affilie-introuvable": {"fr": "", "ar": "المنخرط غير موجود لهذا الحساب."},
    # the HTTP layer (services/runtime)
    "requete-invalide": {"fr": "", "ar": "يتضمن الطلب قيما غير صالحة."},
    "json-invalide": {"fr": "", "ar": "محتوى الطلب ليس JSON صالحا."},
    "requete-trop-volumineuse": {"fr": "", "ar": "حجم الطلب كبير جدا."},
    "service-sature": {"fr": "", "ar": "الخدمة مثقلة مؤقتا. يرجى المحاولة من جديد بعد لحظة."},
    "erreur-interne": {"fr": "", "ar": "حدث خطأ داخلي. يرجى المحاولة لاحقا."},
    "acces-refuse": {"fr": "", "ar": "الولوج مرفوض."},
    "ressource-introuvable": {"fr": "", "ar": "المورد المطلوب غير موجود."},
    "methode-non-autorisee": {"fr": "", "ar": "هذه الطريقة غير مسموح بها لهذا المورد."},
    "erreur-http": {"fr": "", "ar": "تعذر إتمام الطلب."},
    "curseur-invalide": {"fr": "", "ar": "هذا المؤشر لا يدل على أي عنصر من هذه اللائحة: يرجى البدء من الصفحة الأولى."},
    "cle-idempotence-invalide": {
        "fr": "",
        "ar": "يجب أن يتكون مفتاح Idempotency-Key من 1 إلى 255 حرفا من حروف ASCII المرئية.",
    },
    "cle-idempotence-reutilisee": {"fr": "", "ar": "سبق استعمال مفتاح Idempotency-Key هذا لطلب آخر."},
    "requete-en-cours": {"fr": "", "ar": "نفس الطلب قيد المعالجة؛ يرجى المحاولة بعد لحظة."},
}

FIELD_MESSAGES: dict[str, dict[Language, str]] = {
    "missing": {"fr": "champ obligatoire", "ar": "حقل إلزامي"},
    "extra_forbidden": {"fr": "champ inconnu", "ar": "حقل غير معروف"},
    "string_pattern_mismatch": {"fr": "format invalide", "ar": "صيغة غير صالحة"},
    "string_too_long": {"fr": "valeur trop longue", "ar": "قيمة طويلة جدا"},
    "string_too_short": {"fr": "valeur trop courte", "ar": "قيمة قصيرة جدا"},
    "string_type": {"fr": "une chaîne de caractères est attendue", "ar": "يُنتظر نص"},
    "int_parsing": {"fr": "un nombre entier est attendu", "ar": "يُنتظر عدد صحيح"},
    "greater_than": {"fr": "valeur trop petite", "ar": "قيمة صغيرة جدا"},
    "greater_than_equal": {"fr": "valeur trop petite", "ar": "قيمة صغيرة جدا"},
    "less_than_equal": {"fr": "valeur trop grande", "ar": "قيمة كبيرة جدا"},
    "model_attributes_type": {"fr": "un objet JSON est attendu", "ar": "يُنتظر كائن JSON"},
    "dict_type": {"fr": "un objet JSON est attendu", "ar": "يُنتظر كائن JSON"},
    "model_type": {"fr": "un objet JSON est attendu", "ar": "يُنتظر كائن JSON"},
    "list_type": {"fr": "une liste JSON est attendue", "ar": "تُنتظر لائحة JSON"},
}
"""what a field in error is told, by pydantic's error type: a ``requete-invalide``'s fields, a bank
account file's lines (debits)"""
INVALID_VALUE: dict[Language, str] = {"fr": "valeur invalide", "ar": "قيمة غير صالحة"}

_AMOUNT = re.compile(r"^-?\d+\.\d{2}$")
_RANGE = {"fr": "de {min} à {max}", "ar": "من {min} إلى {max}"}
_OR = {"fr": " ou ", "ar": " أو "}
_AND = {"fr": ", ", "ar": "، "}
_TAG = re.compile(r"^\s*([A-Za-z]{1,8})(?:-[A-Za-z0-9]{1,8})*\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$")


def language_of(accept_language: str | None) -> Language:
    """The language an ``Accept-Language`` header prefers among ours: Arabic when ``ar`` (any region)
    weighs more than French, French otherwise (and for anything unreadable)."""
    best: tuple[float, Language] = (-1.0, DEFAULT)
    for part in (accept_language or "")[:512].split(",")[:32]:
        found = _TAG.match(part)
        if found is None:
            continue
        primary = found.group(1).lower()
        try:
            weight = float(found.group(2)) if found.group(2) else 1.0
        except ValueError:
            continue
        if primary in LANGUAGES and weight > best[0] and weight > 0:
            best = (weight, "ar" if primary == "ar" else "fr")
    return best[1]


def counts_text(lang: Language, ranges: list[dict[str, int]]) -> str:
    """Installment counts as a service sends them (``[{"min": 1, "max": 23}, {"min": 25, "max": 60}]``),
    said in the language: "de 1 à 23 ou de 25 à 60", "من 1 إلى 23 أو من 25 إلى 60"."""
    words = [str(r["min"]) if r["min"] == r["max"] else _RANGE[lang].format(**r) for r in ranges]
    if len(words) <= 1:
        return "".join(words)
    return _AND[lang].join(words[:-1]) + _OR[lang] + words[-1]


def _ranges_of(figures: Mapping[str, Any]) -> list[dict[str, int]] | None:
    """The allowed counts a refusal names: ``allowed``, or the one range of an older answer."""
    allowed = figures.get("allowed")
    if isinstance(allowed, list):
        return allowed
    low, high = figures.get("min_installments"), figures.get("max_installments")
    return [{"min": low, "max": high}] if isinstance(low, int) and isinstance(high, int) else None


def _gapped(figures: Mapping[str, Any]) -> bool:
    """Not every count from 1 to the largest: "au plus n" would send the affiliate to a refused count."""
    allowed = figures.get("allowed")
    return isinstance(allowed, list) and bool(allowed) and (len(allowed) > 1 or allowed[0].get("min") != 1)


class _Blanks(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "…"


_VARIANTS: dict[str, Callable[[Mapping[str, Any]], str | None]] = {
    # the same refusal reads differently when its figures say so
    "echeance-sous-minimum": lambda d: (
        "sans-plan" if d.get("max_installments_allowed") == 0 else "plages" if _gapped(d) else None
    ),
    "budget-insuffisant": lambda d: "integral" if d.get("modality") == "FULL" else None,
}


def sentence(lang: Language, code: str, own: str, figures: Mapping[str, Any] | None = None) -> str:
    """The refusal ``code`` said in ``lang`` from its figures; ``own`` (the service's French sentence)
    when the catalogue has none for that language: always readable, never a bare code."""
    details = figures or {}
    choose = _VARIANTS.get(code)
    variant = choose(details) if choose else None
    entry = (variant and TEXTS.get(f"{code}.{variant}")) or TEXTS.get(code)
    text = entry.get(lang) if entry else None
    if not text:
        return own
    filled = {k: format_amount(v) if isinstance(v, str) and _AMOUNT.match(v) else v for k, v in details.items()}
    if (ranges := _ranges_of(details)) is not None:
        filled["plages"] = counts_text(lang, ranges)
    return fill(lang, text, _Blanks(filled))


def field_message(lang: Language, kind: str, own: str) -> str:
    """A field error of a ``requete-invalide`` in ``lang`` (``own``: the French the validator wrote)."""
    entry = FIELD_MESSAGES.get(kind)
    if entry is not None:
        return entry[lang]
    return own if lang == "fr" else INVALID_VALUE["ar"]
