package web

import (
	"fmt"
	"html/template"
	"io/fs"
	"strings"
	"time"

	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/mail"
)

// messages are the pages' words, French first. The statuses, amounts,
// dates, countries, opinions and flags come from the vocabulary the e-mails
// use (lifecycle.StatusLabel, package mail), and refusals from the API.
var messages = map[string][2]string{
	"site_name":        {"EXPE-CT", "EXPE-CT"},
	"site_tagline":     {"Expertise des collectivités territoriales à l'international", "Expertise of French local authorities abroad"},
	"ministry":         {"Ministère<br>de l'Europe<br>et des Affaires<br>étrangères", "Ministère<br>de l'Europe<br>et des Affaires<br>étrangères"},
	"home":             {"Accueil", "Home"},
	"sign_in":          {"S'identifier avec", "Sign in with"},
	"sign_in_plain":    {"Se connecter", "Sign in"},
	"what_proconnect":  {"Qu'est-ce que ProConnect ?", "What is ProConnect?"},
	"sign_out":         {"Se déconnecter", "Sign out"},
	"signed_out":       {"Vous êtes déconnecté.", "You are signed out."},
	"language":         {"Langue", "Language"},
	"switch_language":  {"English", "Français"},
	"main_menu":        {"Menu principal", "Main menu"},
	"skip_content":     {"Aller au contenu", "Skip to content"},
	"not_found":        {"Page introuvable", "Page not found"},
	"problem_title":    {"Action impossible", "Action not possible"},
	"session_expired":  {"Votre session a expiré : reconnectez-vous.", "Your session expired: sign in again."},
	"csrf_refused":     {"Formulaire expiré ou d'une autre origine : rechargez la page.", "The form expired or came from elsewhere: reload the page."},
	"issuer_down":      {"Le fournisseur d'identité ne répond pas : réessayez plus tard.", "The identity provider does not answer: try again later."},
	"signin_failed":    {"La connexion n'a pas abouti : recommencez.", "Signing in did not complete: try again."},
	"back_home":        {"Retour à l'accueil", "Back to the home page"},
	"verify_letter":    {"Vérifier une lettre", "Verify a letter"},
	"verify_code":      {"Code de vérification", "Verification code"},
	"verify_hint":      {"Le code imprimé au bas de la lettre, par exemple ABCD-EFGH-IJKL-MNOP", "The code printed at the foot of the letter, e.g. ABCD-EFGH-IJKL-MNOP"},
	"verify":           {"Vérifier", "Verify"},
	"letter_genuine":   {"Cette lettre a bien été émise par EXPE-CT.", "This letter was indeed issued by EXPE-CT."},
	"applications":     {"Demandes", "Applications"},
	"my_applications":  {"Mes demandes", "My applications"},
	"embassy_inbox":    {"Demandes à examiner", "Applications to examine"},
	"instruction":      {"Instruction", "Review"},
	"decision_queue":   {"Décisions à prendre", "Decisions to take"},
	"all_applications": {"Toutes les demandes", "All applications"},
	"new_application":  {"Nouvelle demande", "New application"},
	"drafts":           {"Brouillons", "Drafts"},
	"no_drafts":        {"Aucun brouillon.", "No drafts."},
	"no_applications":  {"Aucune demande.", "No applications."},
	"application":      {"Demande", "Application"},
	"collectivite":     {"Collectivité", "Local authority"},
	"mission":          {"Mission", "Mission"},
	"country":          {"Pays", "Country"},
	"status":           {"Statut", "Status"},
	"requested":        {"Demandé", "Requested"},
	"granted":          {"Accordé", "Granted"},
	"submitted_on":     {"Déposée le", "Submitted on"},
	"updated_on":       {"Modifié le", "Updated on"},
	"any":              {"Tous", "All"},
	"filter":           {"Filtrer", "Filter"},
	"filters":          {"Filtres", "Filters"},
	"next_page":        {"Page suivante", "Next page"},
	"order":            {"Tri", "Order"},
	"order_newest":     {"Plus récentes d'abord", "Newest first"},
	"order_oldest":     {"Plus anciennes d'abord", "Oldest first"},
	"order_deadline":   {"Échéance la plus proche d'abord", "Nearest deadline first"},
	"deadline_within":  {"Échéance dans les N jours", "Deadline within N days"},
	"followed_by_me":   {"Suivies par moi", "Followed by me"},
	"next_deadline":    {"Prochaine échéance", "Next deadline"},
	"follow":           {"Suivre cette demande", "Follow this application"},
	"unfollow":         {"Ne plus suivre cette demande", "Stop following this application"},
	"following":        {"Vous suivez cette demande : chaque étape vous est envoyée par courriel.", "You follow this application: each step is e-mailed to you."},
	"open":             {"Ouvrir", "Open"},
	"resume":           {"Reprendre", "Resume"},
	"delete":           {"Supprimer", "Delete"},
	"save_draft":       {"Enregistrer le brouillon", "Save the draft"},
	"submit":           {"Déposer la demande", "Submit the application"},
	"draft_saved":      {"Brouillon enregistré.", "Draft saved."},
	"draft_deleted":    {"Brouillon supprimé.", "Draft deleted."},
	"draft_hint":       {"Le brouillon reste enregistré entre vos visites ; il n'est transmis qu'au dépôt.", "The draft is kept between your visits; it is sent only when you submit it."},
	"fix_errors":       {"Le formulaire contient des erreurs : corrigez les champs signalés.", "The form has errors: correct the fields shown."},
	"required_note":    {"Tous les champs sont obligatoires.", "Every field is required."},
	"sec_collectivite": {"Collectivité", "Local authority"},
	"sec_contact":      {"Contact", "Contact"},
	"sec_partner":      {"Partenaire", "Partner"},
	"sec_mission":      {"Mission", "Mission"},
	"sec_agents":       {"Agents", "Agents"},
	"sec_budget":       {"Budget", "Budget"},
	"agent_n":          {"Agent", "Agent"},
	"agents_hint":      {"Remplissez une ligne par agent ; laissez vides les lignes en trop.", "Fill one row per agent; leave the extra rows empty."},
	"total_cost":       {"Coût total de la mission", "Total cost of the mission"},
	"programme_share":  {"Part maximale du programme", "Programme share at most"},
	"funded":           {"Demandé + part propre", "Requested + own share"},
	"submitted_ok":     {"Demande déposée.", "Application submitted."},
	"step_ok":          {"Étape enregistrée.", "Step recorded."},
	"dossier":          {"Dossier", "Application file"},
	"progress":         {"Avancement", "Progress"},
	"step_of":          {"Étape %d sur %d", "Step %d of %d"},
	"next_step":        {"Étape suivante :", "Next step:"},
	"deadlines":        {"Échéances", "Deadlines"},
	"flags":            {"Signalements", "Flags"},
	"ldc":              {"Pays parmi les moins avancés (taux de prise en charge majoré)", "Least-developed country (higher share)"},
	"timeline":         {"Ce qui s'est passé", "What happened"},
	"full_timeline":    {"Chronologie complète (audit)", "Full timeline (audit)"},
	"actions":          {"Actions possibles", "Actions open now"},
	"no_actions":       {"Aucune action ne vous revient à cette étape.", "No action is yours at this step."},
	"letters":          {"Lettres", "Letters"},
	"letter_approval":  {"Lettre d'attribution (PDF)", "Approval letter (PDF)"},
	"letter_refusal":   {"Lettre de refus (PDF)", "Refusal letter (PDF)"},
	"letter_payment":   {"Relevé de paiement (PDF)", "Payment statement (PDF)"},
	"opinion":          {"Avis de l'ambassade", "Embassy's opinion"},
	"recommendation":   {"Recommandation de l'instructeur", "Instructor's recommendation"},
	"decision":         {"Décision", "Decision"},
	"comment":          {"Commentaire", "Comment"},
	"amount_eur":       {"Montant (euros)", "Amount (euros)"},
	"motivation":       {"Motivation", "Reasons"},
	"message":          {"Message", "Message"},
	"reason":           {"Motif", "Reason"},
	"by":               {"par", "by"},
	"on":               {"le", "on"},
	"approve":          {"Accorder", "Approve"},
	"reject":           {"Refuser", "Refuse"},
	"favorable":        {"Favorable", "Favourable"},
	"unfavorable":      {"Défavorable", "Unfavourable"},
	"reserved":         {"Réservé", "Reserved"},
	"send":             {"Envoyer", "Send"},
	"bounds":           {"Bornes", "Bounds"},
	"cap":              {"Plafond du programme par mission", "Programme cap per mission"},
	"four_eyes":        {"Règle des quatre yeux : la personne qui a recommandé ne peut pas décider de la même demande ; une autre personne habilitée doit signer.", "Four-eyes rule: whoever recommended may not decide the same application; another authorised person must sign."},
	"audit":            {"Audit", "Audit"},
	"audit_search":     {"Rechercher une demande", "Find an application"},
	"application_id":   {"Numéro de demande", "Application number"},
	"audit_verify":     {"Vérifier l'intégrité du journal", "Verify the journal's integrity"},
	"audit_ok":         {"Intégrité vérifiée : aucune altération détectée.", "Integrity verified: no alteration found."},
	"audit_failed":     {"Des anomalies ont été détectées :", "Anomalies were found:"},
	"source":           {"Source", "Source"},
	"src_journal":      {"Journal", "Journal"},
	"src_temporal":     {"Historique Temporal", "Temporal history"},
	"src_attempt":      {"Tentatives refusées", "Refused attempts"},
	"when":             {"Quand", "When"},
	"step":             {"Étape", "Step"},
	"who":              {"Qui", "Who"},
	"what":             {"Quoi", "What"},
	"exports":          {"Exports", "Exports"},
	"export_csv":       {"Exporter les demandes (CSV)", "Export the applications (CSV)"},
	"admin":            {"Administration", "Administration"},
	"people":           {"Personnes", "People"},
	"roles":            {"Rôles", "Roles"},
	"scope":            {"Périmètre", "Scope"},
	"name":             {"Nom", "Name"},
	"email":            {"Courriel", "E-mail"},
	"embassies":        {"Annuaire des ambassades", "Embassy directory"},
	"directory_saved":  {"Annuaire mis à jour.", "Directory updated."},
	"grant_role":       {"Attribuer un rôle", "Grant a role"},
	"grant_hint":       {"Un administrateur ne peut pas changer ses propres rôles. Chaque attribution et chaque retrait sont inscrits au journal de l'annuaire.", "An admin may not change their own roles. Every grant and revocation is written in the directory's journal."},
	"revoke":           {"Retirer", "Revoke"},
	"revoke_role":      {"Retirer le rôle %s à %s", "Revoke the role %s from %s"},
	"set_embassy":      {"Enregistrer le contact d'une ambassade", "Set an embassy's contact"},
	"set_embassy_hint": {"Les dossiers qui attendent un contact pour ce pays reprennent dès l'enregistrement.", "Applications waiting for a contact in this country resume as soon as it is saved."},
	"edit":             {"Modifier", "Edit"},
	"edit_embassy":     {"Modifier le contact de %s", "Edit the contact of %s"},
	"save_contact":     {"Enregistrer le contact", "Save the contact"},
	"figures":          {"Chiffres du programme", "Programme figures"},
	"per_status":       {"Demandes par statut", "Applications per status"},
	"per_country":      {"Demandes par pays", "Applications per country"},
	"per_year":         {"Montants par année", "Amounts per year"},
	"figures_as_of":    {"Chiffres calculés le", "Figures computed on"},
	"figures_kept":     {"Ils sont recalculés au plus une fois par minute.", "They are computed again at most once a minute."},
	"year":             {"Année", "Year"},
	"count":            {"Nombre", "Count"},
	"median_opinion":   {"Délai médian jusqu'à l'avis", "Median time to opinion"},
	"median_decision":  {"Délai médian jusqu'à la décision", "Median time to decision"},
	"days":             {"jours", "days"},
	// The second phase.
	"declare_changes":      {"Déclarer des changements", "Declare changes"},
	"changes_hint":         {"Nouvelles dates ou nouveaux agents de la mission accordée, avant son premier jour : l'instructeur en prend acte ou les refuse.", "New dates or agents for the approved mission, before its first day: the instructor acknowledges or refuses them."},
	"declared_changes":     {"Changements déclarés", "Declared changes"},
	"review_changes":       {"Examiner les changements déclarés", "Review the declared changes"},
	"changes_outcome":      {"Suite donnée aux changements", "Outcome for the changes"},
	"acknowledge":          {"En prendre acte", "Acknowledge them"},
	"refuse":               {"Les refuser", "Refuse them"},
	"reason_if_refused":    {"Motif (obligatoire en cas de refus)", "Reason (required to refuse)"},
	"file_report":          {"Déposer le compte rendu de mission", "File the mission report"},
	"report":               {"Compte rendu de mission", "Mission report"},
	"report_activities":    {"Activités menées", "Activities carried out"},
	"report_results":       {"Résultats obtenus", "Results"},
	"report_follow_up":     {"Suites prévues", "Follow-up planned"},
	"actual_costs":         {"Coût réel total", "Total actual cost"},
	"attachments":          {"Pièces jointes", "Attachments"},
	"attached":             {"Fichiers déjà joints (décochez pour retirer)", "Files already attached (untick to remove)"},
	"report_files":         {"Ajouter des fichiers", "Add files"},
	"report_files_hint":    {"PDF, ODT, DOCX, JPEG ou PNG ; %d fichiers au plus, %s chacun au plus.", "PDF, ODT, DOCX, JPEG or PNG; at most %d files, at most %s each."},
	"report_changes_asked": {"Compléments demandés au compte rendu", "Changes asked to the report"},
	"review_report":        {"Examiner le compte rendu", "Review the report"},
	"report_outcome":       {"Suite donnée au compte rendu", "Outcome for the report"},
	"accept":               {"L'accepter", "Accept it"},
	"ask_changes":          {"Demander des compléments", "Ask for changes"},
	"max_payable":          {"Montant maximal à verser", "Most that may be paid"},
	"payable":              {"Montant à verser", "Amount to pay"},
	"payable_eur":          {"Montant à verser (euros ; vide : le maximum)", "Amount to pay (euros; empty: the most)"},
	"motivation_reduction": {"Motivation (obligatoire pour un montant réduit)", "Reasons (required for a lower amount)"},
	"report_message":       {"Compléments attendus (si vous en demandez)", "Changes expected (if you ask for some)"},
	"extend_report":        {"Reporter l'échéance du compte rendu", "Move the report's due date"},
	"new_due_date":         {"Nouvelle échéance", "New due date"},
	"cancel_grant":         {"Annuler la subvention", "Cancel the grant"},
	"order_payment":        {"Ordonner le paiement", "Order the payment"},
	"confirm_payment":      {"Confirmer le paiement", "Confirm the payment"},
	"payment_reference":    {"Référence comptable", "Accounting reference"},
	"paid_on":              {"Date du paiement", "Payment date"},
	"paid":                 {"Payé", "Paid"},
	"form_too_large":       {"Le formulaire dépasse ce que peuvent peser les fichiers d'un compte rendu : envoyez moins de fichiers ou des fichiers plus légers.", "The form exceeds what a report's files may weigh: send fewer or lighter files."},
	"role_applicant":       {"Demandeur", "Applicant"},
	"role_embassy":         {"Ambassade", "Embassy"},
	"role_instructor":      {"Instructeur DAECT", "DAECT instructor"},
	"role_decider":         {"Décideur DAECT", "DAECT decider"},
	"role_finance":         {"Comptable", "Finance"},
	"role_auditor":         {"Auditeur", "Auditor"},
	"role_admin":           {"Administrateur", "Administrator"},
	"role_system":          {"EXPE-CT", "EXPE-CT"},
}

// tr is a message in lang; a missing key shows itself, so a page never
// hides a forgotten wording.
func tr(lang, key string, args ...any) string {
	m, ok := messages[key]
	if !ok {
		return key
	}
	s := m[0]
	if lang == "en" {
		s = m[1]
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

func (v *visit) t(key string, args ...any) string { return tr(v.lang, key, args...) }

var funcs = template.FuncMap{
	"t":       tr,
	"html":    func(lang, key string) template.HTML { return template.HTML(tr(lang, key)) }, // only for messages of this file
	"status":  func(lang string, s any) string { return lifecycle.StatusLabel(fmt.Sprint(s), lang) },
	"euros":   func(lang string, m any) string { return mail.Euros(cents(m), lang) },
	"date":    func(lang string, t time.Time) string { return mail.Date(t.In(lifecycle.Paris), lang) },
	"day":     func(lang string, d dossier.Date) string { return mail.Date(d.Time, lang) },
	"when":    func(t time.Time) string { return t.In(lifecycle.Paris).Format("02/01/2006 15:04") },
	"dueday":  func(lang string, t time.Time) string { return mail.Deadline(t, lang) },
	"country": func(lang, code string) string { return mail.Country(code, lang) },
	"opinion": func(lang, v string) string { return mail.Opinion(v, lang) },
	"flag":    func(lang, v string) string { return mail.Flag(v, lang) },
	"role":    func(lang string, r any) string { return tr(lang, "role_"+fmt.Sprint(r)) },
	"statusTag": func(s any) string {
		switch lifecycle.Status(fmt.Sprint(s)) {
		case lifecycle.StatusApproved, lifecycle.StatusClosed:
			return "fr-badge--success"
		case lifecycle.StatusRejected, lifecycle.StatusCancelled, lifecycle.StatusReportOverdue:
			return "fr-badge--error"
		case lifecycle.StatusWithdrawn, lifecycle.StatusRenounced, lifecycle.StatusClosedWithoutAction:
			return ""
		case lifecycle.StatusAwaitingComplements, lifecycle.StatusAwaitingReportChange:
			return "fr-badge--warning"
		}
		return "fr-badge--info"
	},
	"fieldID": fieldID,
	"add":     func(a, b int) int { return a + b },
	"join":    strings.Join,
}

// cents reads the amounts the templates get: Money, int64 cents, or a
// pointer to them.
func cents(m any) int64 {
	switch v := m.(type) {
	case dossier.Money:
		return int64(v)
	case *dossier.Money:
		if v != nil {
			return int64(*v)
		}
	case int64:
		return v
	case *int64:
		if v != nil {
			return *v
		}
	}
	return 0
}

// fieldID turns a field's path (agents[0].name) into an element ID.
func fieldID(path string) string {
	r := strings.NewReplacer(".", "-", "[", "-", "]", "")
	return "f-" + r.Replace(path)
}

// parsePages parses each page with the layout around it.
func parsePages() map[string]*template.Template {
	layout := template.Must(template.New("").Funcs(funcs).ParseFS(templateFiles, "templates/_*.html"))
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if strings.HasPrefix(base, "_") {
			continue
		}
		pages[base] = template.Must(template.Must(layout.Clone()).ParseFS(templateFiles, n))
	}
	return pages
}
