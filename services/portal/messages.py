"""The portal's one message catalogue: every sentence a page says, in French and in Arabic.

Keys name the screen then the sentence. ``{name}`` fields are filled by the page. ``refus.<code>``
entries say a service's stable refusal codes in Arabic (French pages show the service's own sentence).
A test checks that every key a template or page uses is here, in both languages.
"""

MESSAGES: dict[str, dict[str, str]] = {
    # the frame
    "app.nom": {"fr": "Espace Recouvrement", "ar": "فضاء التحصيل"},
    "nav.aller-contenu": {"fr": "Aller au contenu", "ar": "الانتقال إلى المحتوى"},
    "nav.outils": {"fr": "Langue et compte", "ar": "اللغة والحساب"},
    "nav.principale": {"fr": "Navigation principale", "ar": "التصفح الرئيسي"},
    "nav.deconnexion": {"fr": "Se déconnecter", "ar": "تسجيل الخروج"},
    "nav.creance": {"fr": "Créance consolidée", "ar": "الدين الموحد"},
    "nav.demandes": {"fr": "Mes demandes", "ar": "طلباتي"},
    "nav.changer-affilie": {"fr": "Changer d'affilié", "ar": "تغيير المنخرط"},
    "affilie.courant": {"fr": "Affilié :", "ar": "المنخرط:"},
    "pied.texte": {
        "fr": "Caisse Nationale de Sécurité Sociale — remise des majorations, astreintes et frais de recouvrement.",
        "ar": "الصندوق الوطني للضمان الاجتماعي — الإعفاء من الزيادات والغرامات التهديدية ومصاريف التحصيل.",
    },
    "bouton.continuer": {"fr": "Continuer", "ar": "متابعة"},
    "bouton.retour": {"fr": "Retour", "ar": "رجوع"},
    "formulaire.a-corriger": {
        "fr": "Le formulaire contient des erreurs : elles sont indiquées à côté des champs concernés.",
        "ar": "يحتوي النموذج على أخطاء مبينة بجانب الحقول المعنية.",
    },
    # 1. authentification
    "connexion.titre": {"fr": "Authentification", "ar": "تسجيل الدخول"},
    "connexion.intro": {
        "fr": "Connectez-vous avec l'identifiant et le mot de passe de votre compte Damancom.",
        "ar": "سجّل الدخول باسم المستخدم وكلمة المرور الخاصين بحسابك في ضمانكم.",
    },
    "connexion.identifiant": {"fr": "Identifiant", "ar": "اسم المستخدم"},
    "connexion.mot-de-passe": {"fr": "Mot de passe", "ar": "كلمة المرور"},
    "connexion.bouton": {"fr": "Se connecter", "ar": "دخول"},
    "connexion.invalide": {
        "fr": "Identifiant ou mot de passe incorrect.",
        "ar": "اسم المستخدم أو كلمة المرور غير صحيحة.",
    },
    "connexion.champs-requis": {
        "fr": "Saisissez votre identifiant et votre mot de passe.",
        "ar": "أدخل اسم المستخدم وكلمة المرور.",
    },
    "connexion.verrouille": {
        "fr": "Trop de tentatives échouées : l'accès à ce compte est temporairement verrouillé.",
        "ar": "محاولات فاشلة كثيرة: الولوج إلى هذا الحساب مقفل مؤقتا.",
    },
    "connexion.trop-de-tentatives": {
        "fr": "Trop de tentatives de connexion en peu de temps : patientez un instant avant de réessayer.",
        "ar": "محاولات دخول كثيرة في وقت قصير: انتظر قليلا قبل المحاولة من جديد.",
    },
    "connexion.deverrouillage": {
        "fr": "Vous pourrez réessayer à partir de {quand} (heure de Casablanca).",
        "ar": "يمكنك المحاولة من جديد ابتداء من {quand} (بتوقيت الدار البيضاء).",
    },
    "connexion.session-expiree": {
        "fr": "Votre session a expiré : veuillez vous reconnecter.",
        "ar": "انتهت صلاحية جلستك: يرجى تسجيل الدخول من جديد.",
    },
    "connexion.deconnecte": {"fr": "Vous êtes déconnecté.", "ar": "تم تسجيل خروجك."},
    # 2. choix de l'affilié
    "affilies.titre": {"fr": "Choix de l'affilié", "ar": "اختيار المنخرط"},
    "affilies.intro": {
        "fr": "Votre compte gère {n} affiliés. Choisissez celui pour lequel vous agissez.",
        "ar": "يدير حسابك {n} منخرطين. اختر المنخرط الذي تتصرف باسمه.",
    },
    "affilies.numero": {"fr": "N° d'affiliation", "ar": "رقم الانخراط"},
    "affilies.choisir-nom": {"fr": "Choisir {nom}, affilié {numero}", "ar": "اختيار {nom}، المنخرط {numero}"},
    "affilies.choisir": {"fr": "Choisissez un affilié de la liste.", "ar": "اختر منخرطا من اللائحة."},
    # 3. créance consolidée
    "creance.titre": {"fr": "Créance consolidée", "ar": "الدين الموحد"},
    "creance.situation": {"fr": "Votre situation", "ar": "وضعيتكم"},
    "creance.eligible": {
        "fr": "Vous pouvez déposer une demande de remise pour les périodes jusqu'à {cutoff}.",
        "ar": "يمكنكم إيداع طلب إعفاء عن الفترات إلى غاية {cutoff}.",
    },
    "creance.nouvelle-demande": {"fr": "Nouvelle demande", "ar": "طلب جديد"},
    "creance.non-eligible": {
        "fr": "Vous ne pouvez pas déposer de demande pour le moment :",
        "ar": "لا يمكنكم إيداع طلب في الوقت الحالي:",
    },
    "creance.refus.demande-en-cours": {
        "fr": "une demande est déjà en cours pour cet affilié.",
        "ar": "يوجد طلب قيد المعالجة لهذا المنخرط.",
    },
    "creance.refus.arrangement-actif": {
        "fr": "cet affilié bénéficie d'un arrangement en cours : veuillez vous adresser à la {perception}.",
        "ar": "يستفيد هذا المنخرط من اتفاق جار: يرجى التوجه إلى {perception}.",
    },
    "creance.voir-demande": {"fr": "Voir la demande", "ar": "عرض الطلب"},
    "creance.remise-PENDING": {
        "fr": "Une remise de {montant} est accordée sous réserve du paiement du plan.",
        "ar": "إعفاء بمبلغ {montant} ممنوح شريطة أداء المخطط.",
    },
    "creance.remise-DEFINITIVE": {
        "fr": "Une remise de {montant} est devenue définitive.",
        "ar": "أصبح إعفاء بمبلغ {montant} نهائيا.",
    },
    "creance.remise-REINSTATED": {
        "fr": "La remise de {montant} a été annulée (plan non honoré) : les montants sont de nouveau dus.",
        "ar": "ألغي الإعفاء بمبلغ {montant} (عدم احترام المخطط): المبالغ مستحقة من جديد.",
    },
    "creance.totaux": {"fr": "Totaux restant dus", "ar": "المجاميع المتبقية"},
    "creance.total": {"fr": "Total", "ar": "المجموع"},
    "creance.restant-eligible": {
        "fr": "Périodes éligibles (jusqu'à {cutoff})",
        "ar": "الفترات المؤهلة (إلى غاية {cutoff})",
    },
    "creance.restant-non_eligible": {
        "fr": "Autres périodes (après {cutoff})",
        "ar": "الفترات الأخرى (بعد {cutoff})",
    },
    "creance.periodes-eligibles": {
        "fr": "Périodes éligibles à la remise (jusqu'à {cutoff})",
        "ar": "الفترات المؤهلة للإعفاء (إلى غاية {cutoff})",
    },
    "creance.periodes-autres": {
        "fr": "Autres périodes, hors remise (après {cutoff})",
        "ar": "فترات أخرى غير مشمولة بالإعفاء (بعد {cutoff})",
    },
    "creance.voir-detail": {
        "fr": "Voir le détail des {n} périodes (dû, payé, reste par catégorie)",
        "ar": "عرض تفاصيل {n} فترة (المستحق، المؤدى، الباقي حسب الصنف)",
    },
    "creance.retour": {"fr": "Retour à la créance consolidée", "ar": "الرجوع إلى الدين الموحد"},
    "session.expire": {"fr": "Session valable jusqu'à {heure}", "ar": "الجلسة صالحة إلى غاية {heure}"},
    "creance.periode": {"fr": "Période", "ar": "الفترة"},
    "creance.du": {"fr": "Dû", "ar": "المستحق"},
    "creance.paye": {"fr": "Payé", "ar": "المؤدى"},
    "creance.reste": {"fr": "Reste", "ar": "الباقي"},
    "creance.note-montants": {"fr": "Montants en dirhams (MAD).", "ar": "المبالغ بالدرهم."},
    "creance.aucune-periode": {"fr": "Aucune période.", "ar": "لا توجد أي فترة."},
    "categorie.titre": {"fr": "Catégorie", "ar": "الصنف"},
    "categorie.principal": {"fr": "Cotisations (principal)", "ar": "الاشتراكات (الأصل)"},
    "categorie.majorations": {"fr": "Majorations de retard", "ar": "زيادات التأخير"},
    "categorie.astreintes": {"fr": "Astreintes", "ar": "الغرامات التهديدية"},
    "categorie.frais": {"fr": "Frais de recouvrement", "ar": "مصاريف التحصيل"},
    # the steps of a request
    "etapes.titre": {"fr": "Étapes de la demande", "ar": "مراحل الطلب"},
    "etapes.modalite": {"fr": "Modalité", "ar": "طريقة الأداء"},
    "etapes.simulation": {"fr": "Simulation", "ar": "المحاكاة"},
    "etapes.conditions": {"fr": "Conditions générales", "ar": "الشروط العامة"},
    "etapes.prise-en-charge": {"fr": "Prise en charge", "ar": "التكفل"},
    # 4. nouvelle demande
    "modalite.titre": {"fr": "Nouvelle demande", "ar": "طلب جديد"},
    "modalite.question": {"fr": "Comment souhaitez-vous payer ?", "ar": "كيف تودون الأداء؟"},
    "modalite.FULL": {"fr": "Paiement intégral", "ar": "الأداء الكلي"},
    "modalite.FULL.aide": {
        "fr": "Un seul prélèvement ; la remise la plus élevée.",
        "ar": "اقتطاع واحد؛ أعلى نسبة إعفاء.",
    },
    "modalite.INSTALLMENTS": {"fr": "Paiement par acomptes", "ar": "الأداء بالأقساط"},
    "modalite.INSTALLMENTS.aide": {
        "fr": "Une avance éventuelle puis des échéances mensuelles ; des garanties sont à déposer.",
        "ar": "تسبيق اختياري ثم أقساط شهرية؛ يجب إيداع ضمانات.",
    },
    "modalite.garanties": {
        "fr": "Je m'engage à déposer les garanties auprès de la {perception} dans les {jours} jours suivant la validation.",
        "ar": "ألتزم بإيداع الضمانات لدى {perception} داخل أجل {jours} يوما بعد المصادقة.",
    },
    "modalite.compte": {"fr": "Compte bancaire à prélever", "ar": "الحساب البنكي المراد الاقتطاع منه"},
    "modalite.aucun-compte": {
        "fr": "Aucun compte bancaire n'est enregistré pour cet affilié : rapprochez-vous de votre agence CNSS.",
        "ar": "لا يوجد أي حساب بنكي مسجل لهذا المنخرط: يرجى الاتصال بوكالة الصندوق.",
    },
    "modalite.choisir": {"fr": "Choisissez une modalité de paiement.", "ar": "اختر طريقة الأداء."},
    "modalite.garanties-requises": {
        "fr": "Le paiement par acomptes exige d'accepter l'obligation de déposer des garanties.",
        "ar": "يستلزم الأداء بالأقساط قبول الالتزام بإيداع الضمانات.",
    },
    "modalite.compte-requis": {"fr": "Choisissez le compte à prélever.", "ar": "اختر الحساب المراد الاقتطاع منه."},
    # 5. simulation
    "simulation.titre": {"fr": "Simulation", "ar": "المحاكاة"},
    "simulation.modalite-choisie": {"fr": "Modalité choisie :", "ar": "طريقة الأداء المختارة:"},
    "simulation.changer-modalite": {"fr": "changer", "ar": "تغيير"},
    "simulation.avance": {"fr": "Avance (MAD)", "ar": "التسبيق (درهم)"},
    "simulation.avance.aide": {
        "fr": "Facultative : prélevée en premier. Par exemple 5000,00.",
        "ar": "اختياري: يقتطع أولا. مثلا 5000,00.",
    },
    "simulation.echeances": {"fr": "Nombre d'échéances", "ar": "عدد الأقساط"},
    "simulation.echeances.aide": {
        "fr": "Possible sans avance : {plages} ; chaque échéance doit atteindre {minimum}.",
        "ar": "الممكن بدون تسبيق: {plages}؛ يجب ألا يقل كل قسط عن {minimum}.",
    },
    "simulation.moins": {"fr": "Une échéance de moins", "ar": "قسط أقل"},
    "simulation.plus": {"fr": "Une échéance de plus", "ar": "قسط إضافي"},
    "simulation.full.aide": {
        "fr": "Le montant à payer est prélevé en une fois.",
        "ar": "يقتطع المبلغ الواجب أداؤه دفعة واحدة.",
    },
    "simulation.bouton": {"fr": "Simuler", "ar": "محاكاة"},
    "simulation.resultat": {"fr": "Résultat de la simulation", "ar": "نتيجة المحاكاة"},
    "simulation.validite": {
        "fr": "Ce devis est valable jusqu'à {heure} (heure de Casablanca).",
        "ar": "هذا العرض صالح إلى غاية {heure} (بتوقيت الدار البيضاء).",
    },
    "simulation.dates-provisoires": {
        "fr": "Pour un paiement par acomptes, les dates sont recalculées à partir du dépôt des garanties.",
        "ar": "في حالة الأداء بالأقساط، تحتسب التواريخ من جديد ابتداء من تاريخ إيداع الضمانات.",
    },
    "simulation.continuer": {
        "fr": "Continuer vers les conditions générales",
        "ar": "المتابعة نحو الشروط العامة",
    },
    "simulation.avance-invalide": {
        "fr": "Saisissez l'avance en dirhams, par exemple 5000,00 (0 si aucune).",
        "ar": "أدخل التسبيق بالدرهم، مثلا 5000,00 (0 إن لم يكن).",
    },
    "simulation.echeances-invalide": {
        "fr": "Choisissez un nombre d'échéances.",
        "ar": "اختر عدد الأقساط.",
    },
    "devis.titre": {"fr": "Devis", "ar": "العرض"},
    "devis.plan": {"fr": "{n} échéance(s)", "ar": "{n} قسط (أقساط)"},
    "devis.avec-avance": {"fr": "avance de {montant}", "ar": "تسبيق {montant}"},
    "devis.eligible": {"fr": "Montant éligible", "ar": "المبلغ المؤهل"},
    "devis.taux": {"fr": "Taux de remise", "ar": "نسبة الإعفاء"},
    "devis.remise": {"fr": "Remise", "ar": "الإعفاء"},
    "devis.remise-totale": {"fr": "Remise totale", "ar": "مجموع الإعفاء"},
    "devis.a-payer": {"fr": "Montant à payer", "ar": "المبلغ الواجب أداؤه"},
    "echeancier.titre": {"fr": "Échéancier", "ar": "جدول الاقتطاعات"},
    "echeancier.voir": {"fr": "Voir l'échéancier ({n} prélèvements)", "ar": "عرض جدول الاقتطاعات ({n})"},
    "echeancier.numero": {"fr": "N°", "ar": "الرقم"},
    "echeancier.type": {"fr": "Type", "ar": "النوع"},
    "echeancier.echeance": {"fr": "Échéance", "ar": "تاريخ الاستحقاق"},
    "echeancier.prelevement": {"fr": "Prélèvement (jour ouvré)", "ar": "الاقتطاع (يوم عمل)"},
    "echeancier.montant": {"fr": "Montant", "ar": "المبلغ"},
    "echeancier.etat": {"fr": "État", "ar": "الحالة"},
    "prelevement.FULL": {"fr": "Paiement intégral", "ar": "أداء كلي"},
    "prelevement.ADVANCE": {"fr": "Avance", "ar": "تسبيق"},
    "prelevement.INSTALLMENT": {"fr": "Échéance", "ar": "قسط"},
    "prelevement.etat.SCHEDULED": {"fr": "Planifié", "ar": "مبرمج"},
    "prelevement.etat.ORDERED": {"fr": "Transmis à la banque", "ar": "محال على البنك"},
    "prelevement.etat.SETTLED": {"fr": "Réglé", "ar": "مؤدى"},
    "prelevement.etat.FAILED": {"fr": "Rejeté", "ar": "مرفوض"},
    "prelevement.etat.CANCELLED": {"fr": "Annulé", "ar": "ملغى"},
    "prelevement.tentatives": {"fr": "{n} présentations", "ar": "{n} تقديمات"},
    "comparaison.titre": {"fr": "Comparer les paliers pour cette créance", "ar": "مقارنة الشرائح لهذا الدين"},
    "comparaison.intro": {
        "fr": "Plus le paiement est rapide, plus la remise est élevée.",
        "ar": "كلما كان الأداء أسرع، كان الإعفاء أعلى.",
    },
    "comparaison.palier": {"fr": "Palier", "ar": "الشريحة"},
    "comparaison.taux": {"fr": "Taux de remise", "ar": "نسب الإعفاء"},
    "comparaison.taux-detail": {
        "fr": "majorations {majorations}, astreintes {astreintes}, frais {frais}",
        "ar": "الزيادات {majorations}، الغرامات {astreintes}، المصاريف {frais}",
    },
    "comparaison.echeances": {"fr": "Échéances possibles", "ar": "الأقساط الممكنة"},
    "comparaison.un-prelevement": {"fr": "Un prélèvement", "ar": "اقتطاع واحد"},
    "comparaison.plage": {
        "fr": "De {min} à {max} échéances (de {de} à {a} par mois)",
        "ar": "من {min} إلى {max} قسطا (من {de} إلى {a} شهريا)",
    },
    "comparaison.indisponible": {
        "fr": "Non disponible pour ce montant (échéance minimale non atteinte)",
        "ar": "غير متاح لهذا المبلغ (الحد الأدنى للقسط غير مستوفى)",
    },
    "palier.de-a": {"fr": "Acomptes, {min} à {max} échéances", "ar": "أقساط، من {min} إلى {max}"},
    "palier.et-plus": {"fr": "Acomptes, {min} échéances et plus", "ar": "أقساط، {min} فما فوق"},
    "budget.titre": {"fr": "Combien pouvez-vous payer par mois ?", "ar": "كم يمكنكم أداؤه شهريا؟"},
    "budget.label": {"fr": "Je peux payer par mois", "ar": "يمكنني أداء شهريا"},
    "budget.bouton": {"fr": "Proposer un plan", "ar": "اقتراح مخطط"},
    "budget.suggestion-full": {
        "fr": "Le plan le moins cher : le paiement intégral, {montant} en une fois.",
        "ar": "المخطط الأقل كلفة: الأداء الكلي، {montant} دفعة واحدة.",
    },
    "budget.suggestion": {
        "fr": "Le plan le moins cher : {n} échéances de {montant} (la dernière : {dernier}), {total} au total.",
        "ar": "المخطط الأقل كلفة: {n} أقساط بمبلغ {montant} (الأخير: {dernier})، أي {total} في المجموع.",
    },
    "budget.remise": {"fr": "Remise obtenue : {montant}.", "ar": "الإعفاء المحصل عليه: {montant}."},
    "budget.invalide": {
        "fr": "Saisissez un montant mensuel en dirhams, par exemple 4000,00.",
        "ar": "أدخل مبلغا شهريا بالدرهم، مثلا 4000,00.",
    },
    "budget.simuler": {"fr": "Simuler ce plan", "ar": "محاكاة هذا المخطط"},
    "budget.changer-modalite": {
        "fr": "Ce plan demande la modalité « {modalite} » : changer de modalité",
        "ar": "يتطلب هذا المخطط طريقة «{modalite}»: تغيير طريقة الأداء",
    },
    # 6. conditions générales
    "conditions.titre": {"fr": "Conditions générales", "ar": "الشروط العامة"},
    "conditions.recapitulatif": {"fr": "Récapitulatif", "ar": "ملخص"},
    "conditions.compte": {"fr": "Compte prélevé :", "ar": "الحساب المقتطع منه:"},
    "conditions.cg": {"fr": "Conditions générales (version {version})", "ar": "الشروط العامة (الصيغة {version})"},
    "conditions.accepter": {
        "fr": "J'ai lu et j'accepte les conditions générales (version {version}).",
        "ar": "قرأت الشروط العامة (الصيغة {version}) وأوافق عليها.",
    },
    "conditions.valider": {"fr": "Valider la demande", "ar": "المصادقة على الطلب"},
    "conditions.acceptation-requise": {
        "fr": "Cochez la case pour accepter les conditions générales.",
        "ar": "ضع علامة في الخانة لقبول الشروط العامة.",
    },
    # 7. prise en charge
    "prise.titre": {"fr": "Prise en charge de votre demande", "ar": "التكفل بطلبكم"},
    "prise.numero": {"fr": "Numéro de la demande :", "ar": "رقم الطلب:"},
    "prise.validee": {"fr": "Votre demande est validée.", "ar": "تمت المصادقة على طلبكم."},
    "prise.prelevement-full": {
        "fr": "{montant} sera prélevé à l'échéance du {echeance} (prélèvement effectif le {prelevement}).",
        "ar": "سيقتطع مبلغ {montant} عند حلول أجل {echeance} (الاقتطاع الفعلي يوم {prelevement}).",
    },
    "prise.prelevement-plan": {
        "fr": "{n} prélèvements ; le premier à l'échéance du {echeance} (prélèvement effectif le {prelevement}).",
        "ar": "{n} اقتطاعات؛ الأول عند حلول أجل {echeance} (الاقتطاع الفعلي يوم {prelevement}).",
    },
    "prise.jour-ouvre": {
        "fr": "L'échéance tombe un jour non ouvré : le prélèvement a lieu le jour ouvré suivant.",
        "ar": "يصادف الأجل يوم عطلة: يتم الاقتطاع في يوم العمل الموالي.",
    },
    "prise.attente-garanties": {
        "fr": "Votre demande est en attente des garanties à déposer auprès de la {perception} au plus tard le {date}.",
        "ar": "طلبكم في انتظار إيداع الضمانات لدى {perception} في أجل أقصاه {date}.",
    },
    "prise.attente-garanties.suite": {
        "fr": "Dès le dépôt des garanties, l'échéancier est daté et les prélèvements commencent.",
        "ar": "فور إيداع الضمانات، يؤرخ جدول الاقتطاعات وتبدأ الاقتطاعات.",
    },
    "prise.recepisse": {"fr": "Télécharger le récépissé (PDF)", "ar": "تحميل الوصل (PDF)"},
    "prise.suivre": {"fr": "Suivre la demande", "ar": "تتبع الطلب"},
    # 8. mes demandes
    "demandes.titre": {"fr": "Mes demandes", "ar": "طلباتي"},
    "demandes.creee-le": {"fr": "Déposée le", "ar": "تاريخ الإيداع"},
    "demandes.modalite": {"fr": "Modalité", "ar": "طريقة الأداء"},
    "demandes.etat": {"fr": "État", "ar": "الحالة"},
    "demandes.detail": {"fr": "Détail", "ar": "التفاصيل"},
    "demandes.voir-du": {"fr": "Détail de la demande du {date}", "ar": "تفاصيل الطلب المؤرخ في {date}"},
    "demandes.aucune": {"fr": "Aucune demande pour cet affilié.", "ar": "لا يوجد أي طلب لهذا المنخرط."},
    "demande.titre": {"fr": "Demande de remise", "ar": "طلب الإعفاء"},
    "demande.etat": {"fr": "État", "ar": "الحالة"},
    "demande.reprendre": {"fr": "Reprendre la demande", "ar": "استئناف الطلب"},
    "demande.cg": {
        "fr": "Conditions générales acceptées : version {version}.",
        "ar": "الشروط العامة المقبولة: الصيغة {version}.",
    },
    "demande.historique": {"fr": "Historique", "ar": "السجل"},
    "cotisations.titre": {"fr": "Cotisations courantes pendant le plan", "ar": "الاشتراكات الجارية خلال المخطط"},
    "cotisations.regle": {
        "fr": "Pendant le plan, les cotisations de chaque mois restent dues à leur échéance (article 2 de la"
        " décision) : impayées après le délai de grâce, elles donnent lieu à une mise en demeure ; non réglées"
        " dans le délai indiqué, le plan est déchu et la totalité des remises redevient exigible.",
        "ar": "خلال المخطط، تظل اشتراكات كل شهر مستحقة في أجلها (المادة 2 من المقرر): إذا لم تُؤدَّ بعد أجل"
        " الإمهال يُوجَّه إنذار؛ وإذا لم تُسوَّ داخل الأجل المحدد يسقط المخطط وتصبح جميع الإعفاءات مستحقة من جديد.",
    },
    "cotisations.mise-en-demeure": {
        "fr": "Mise en demeure : les cotisations de {periode} ({montant}) sont impayées. Réglez-les au plus tard"
        " le {date}, faute de quoi le plan sera déchu.",
        "ar": "إنذار: اشتراكات {periode} ({montant}) غير مؤداة. يرجى تسويتها في أجل أقصاه {date}، وإلا سقط المخطط.",
    },
    "cotisations.tableau": {"fr": "Situation au {date}", "ar": "الوضعية في {date}"},
    "cotisations.periode": {"fr": "Période", "ar": "الفترة"},
    "cotisations.exigible": {"fr": "Exigible le", "ar": "مستحقة في"},
    "cotisations.grace": {"fr": "Délai de grâce jusqu'au", "ar": "أجل الإمهال إلى"},
    "cotisations.montant": {"fr": "Cotisations", "ar": "الاشتراكات"},
    "cotisations.reste": {"fr": "Reste dû", "ar": "الباقي المستحق"},
    "cotisations.etat": {"fr": "État", "ar": "الحالة"},
    "cotisations.etat.paid": {"fr": "Payée", "ar": "مؤداة"},
    "cotisations.etat.upcoming": {"fr": "À échoir", "ar": "لم يحل أجلها"},
    "cotisations.etat.overdue": {"fr": "En retard", "ar": "متأخرة"},
    "cotisations.etat.noticed": {"fr": "Mise en demeure", "ar": "إنذار"},
    "cotisations.etat.cured": {"fr": "Régularisée", "ar": "مسواة"},
    "cotisations.etat.unpaid": {"fr": "Impayée : plan déchu", "ar": "غير مؤداة: سقط المخطط"},
    "cotisations.payee-le": {"fr": "le {date}", "ar": "في {date}"},
    "cotisations.avant-le": {"fr": "à régler au plus tard le {date}", "ar": "تؤدى في أجل أقصاه {date}"},
    "cotisations.aucune": {
        "fr": "Aucune cotisation n'est encore échue depuis la validation du plan.",
        "ar": "لم يحل بعد أجل أي اشتراك منذ المصادقة على المخطط.",
    },
    "demande.plan-en-route": {
        "fr": "Les prélèvements sont en cours de planification auprès de votre banque.",
        "ar": "الاقتطاعات في طور البرمجة لدى بنككم.",
    },
    "retrait.confirmer": {
        "fr": "Je confirme vouloir retirer cette demande (la remise ne sera pas accordée).",
        "ar": "أؤكد رغبتي في سحب هذا الطلب (لن يمنح الإعفاء).",
    },
    "retrait.bouton": {"fr": "Retirer la demande", "ar": "سحب الطلب"},
    "retrait.confirmation-requise": {
        "fr": "Cochez la case pour confirmer le retrait.",
        "ar": "ضع علامة في الخانة لتأكيد السحب.",
    },
    "etat.DRAFT": {"fr": "Brouillon", "ar": "مسودة"},
    "etat.AWAITING_GUARANTEE": {"fr": "En attente des garanties", "ar": "في انتظار الضمانات"},
    "etat.VALIDATED": {"fr": "Validée", "ar": "مصادق عليه"},
    "etat.IN_PROGRESS": {"fr": "Prélèvements en cours", "ar": "الاقتطاعات جارية"},
    "etat.COMPLETED": {"fr": "Soldée", "ar": "مؤدى بالكامل"},
    "etat.DEFAULTED": {"fr": "Déchue (plan non honoré)", "ar": "ساقط (عدم احترام المخطط)"},
    "etat.EXPIRED": {"fr": "Expirée (garanties non déposées)", "ar": "منتهي الصلاحية (لم تودع الضمانات)"},
    "etat.REJECTED": {"fr": "Rejetée par la perception", "ar": "مرفوض من طرف القباضة"},
    "etat.CANCELLED": {"fr": "Annulée", "ar": "ملغى"},
    "acteur.affiliate": {"fr": "vous", "ar": "أنتم"},
    "acteur.perception": {"fr": "la perception", "ar": "القباضة"},
    "acteur.system": {"fr": "CNSS", "ar": "الصندوق"},
    # errors
    "refus.titre": {"fr": "Action impossible", "ar": "تعذر تنفيذ العملية"},
    "refus.resimuler": {"fr": "Relancer la simulation", "ar": "إعادة المحاكاة"},
    "refus.retour": {"fr": "Retour à la créance", "ar": "الرجوع إلى الدين"},
    "erreur.titre": {"fr": "Une erreur est survenue", "ar": "حدث خطأ"},
    "erreur.csrf": {
        "fr": "Le formulaire a expiré. Rechargez la page et recommencez.",
        "ar": "انتهت صلاحية النموذج. أعد تحميل الصفحة وحاول من جديد.",
    },
    "erreur.indisponible": {
        "fr": "Le service est momentanément indisponible. Rien n'a été perdu : réessayez dans quelques instants.",
        "ar": "الخدمة غير متاحة مؤقتا. لم يضع أي شيء: حاول من جديد بعد لحظات.",
    },
    "erreur.formulaire": {
        "fr": "La demande n'a pas pu être lue. Revenez à la page précédente et recommencez.",
        "ar": "تعذرت قراءة الطلب. عد إلى الصفحة السابقة وحاول من جديد.",
    },
    "erreur.reference": {
        "fr": "Si vous contactez le support, indiquez cette référence :",
        "ar": "إذا اتصلتم بالدعم، يرجى ذكر هذا المرجع:",
    },
    "erreur.introuvable": {"fr": "Cette page n'existe pas.", "ar": "هذه الصفحة غير موجودة."},
    "erreur.interne": {
        "fr": "Une erreur inattendue est survenue. Elle a été enregistrée ; réessayez plus tard.",
        "ar": "حدث خطأ غير متوقع تم تسجيله؛ حاول لاحقا.",
    },
    # A service's refusal is said from contracts.refusal_texts, the catalogue the services answer with.
}
