package lifecycle

// statusLabels name the statuses as their readers know them, in French
// (the procedure's words) and English.
var statusLabels = map[string][2]string{
	"submitted":               {"déposé", "submitted"},
	"embassy_consultation":    {"consultation du poste", "embassy consultation"},
	"under_review":            {"en instruction", "under review"},
	"awaiting_complements":    {"en attente de compléments", "awaiting complements"},
	"awaiting_decision":       {"en attente de décision", "awaiting decision"},
	"approved":                {"accepté", "approved"},
	"rejected":                {"refusé", "rejected"},
	"withdrawn":               {"retiré", "withdrawn"},
	"closed_without_action":   {"classé sans suite", "closed without action"},
	"changes_declared":        {"changement déclaré", "changes declared"},
	"awaiting_report":         {"compte rendu attendu", "report awaited"},
	"report_overdue":          {"compte rendu en retard", "report overdue"},
	"report_review":           {"compte rendu en examen", "report under review"},
	"awaiting_report_changes": {"compte rendu à compléter", "report to complete"},
	"awaiting_payment_order":  {"paiement à ordonner", "payment to order"},
	"payment_ordered":         {"paiement ordonné", "payment ordered"},
	"closed":                  {"soldé", "closed (paid)"},
	"renounced":               {"mission abandonnée", "mission renounced"},
	"cancelled":               {"subvention annulée", "grant cancelled"},
}

// StatusLabel names a status in lang ("fr" or "en"); a status the table
// lacks shows its code.
func StatusLabel(code, lang string) string {
	l, ok := statusLabels[code]
	switch {
	case !ok:
		return code
	case lang == "en":
		return l[1]
	}
	return l[0]
}
