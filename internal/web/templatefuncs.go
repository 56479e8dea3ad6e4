package web

import (
	"fmt"
	"html/template"
)

// The templates' building blocks: each gathers what a shared piece of
// markup needs into one value, since a template takes only one.
func init() {
	extra := template.FuncMap{
		"sections": func() []section { return sections },
		"list":     func(xs ...string) []string { return xs },
		// token is a fresh random key per rendered form: the API's
		// Idempotency-Key, so a double click is one step.
		"token": func() string { return randomKey() },
		"fieldOf": func(f field, prefix string, values formValues, errs map[string]string, lang string) map[string]any {
			return map[string]any{"F": f, "P": prefix, "V": values, "E": errs, "L": lang}
		},
		"dossierOf": func(prefix string, values formValues, errs map[string]string, lang string, t totals) map[string]any {
			return map[string]any{"P": prefix, "V": values, "E": errs, "L": lang, "S": sections, "A": agentFields,
				"N": make([]struct{}, maxAgentRows), "T": t}
		},
		"stepOf": func(p page, step string) map[string]any {
			d := p.Data.(dossierPage)
			out := map[string]any{"Page": p, "Step": step, "Values": formValues{}, "Errors": map[string]string{}}
			if d.Failed == step {
				out["Values"], out["Errors"] = d.Values, p.Errors
			}
			return out
		},
		// input is one field of a step's form; its element ID names the
		// step, as one page may hold several forms.
		"input": func(step, name, label, kind string, values formValues, errs map[string]string) map[string]any {
			return map[string]any{"Step": step, "Name": name, "Label": label, "Kind": kind, "V": values, "E": errs}
		},
		"choice": func(name string, values formValues, errs map[string]string, lang string) map[string]any {
			return map[string]any{"Name": name, "V": values, "E": errs, "L": lang}
		},
		"percent": func(n int) string { return fmt.Sprintf("%d %%", n) },
	}
	for k, f := range extra {
		funcs[k] = f
	}
}
