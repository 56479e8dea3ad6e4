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
			} else if v, ok := d.Prefill[step]; ok {
				out["Values"] = v
			}
			return out
		},
		// input is one field of a step's form; its element ID names the
		// step, as one page may hold several forms.
		"input": func(step, name, label, kind string, values formValues, errs map[string]string) map[string]any {
			return map[string]any{"Step": step, "Name": name, "Label": label, "Kind": kind, "V": values, "E": errs}
		},
		// choice is a group of radios: its field's name, the message key of
		// its legend, and its options (values that are message keys too).
		"choice": func(name, legend string, values formValues, errs map[string]string, lang string, options ...string) map[string]any {
			return map[string]any{"Name": name, "Legend": legend, "Options": options, "V": values, "E": errs, "L": lang}
		},
		"changesFields": func() []field { return changesFields },
		"reportFields":  func() []field { return reportFields },
		"agentFields":   func() []field { return agentFields },
		"agentRows":     func() []struct{} { return make([]struct{}, maxAgentRows) },
		"attachedValue": attachedValue,
		"size":          fileSize,
		"percent":       func(n int) string { return fmt.Sprintf("%d %%", n) },
	}
	for k, f := range extra {
		funcs[k] = f
	}
}

// fileSize is a file's weight as a person reads it.
func fileSize(lang string, n int64) string {
	unit := [2]string{"o", "B"}
	switch {
	case n >= 1<<20:
		n, unit = (n+1<<19)>>20, [2]string{"Mo", "MB"}
	case n >= 1<<10:
		n, unit = (n+1<<9)>>10, [2]string{"ko", "kB"}
	}
	if lang == "en" {
		return fmt.Sprintf("%d %s", n, unit[1])
	}
	return fmt.Sprintf("%d %s", n, unit[0])
}
