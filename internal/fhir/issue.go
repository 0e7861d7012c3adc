package fhir

// Issue is one problem found in content, as an OperationOutcome.issue: severity
// (fatal, error, warning, information), an IssueType code from
// http://hl7.org/fhir/issue-type, a message for people, and the FHIRPath of the
// element it is about.
//
// See https://hl7.org/fhir/R4/operationoutcome.html.
type Issue struct {
	Severity    string
	Code        string
	Diagnostics string
	Expression  []string
}

// Errorf-style constructors for the common severities.

// ErrorIssue returns an error-severity Issue about the element at expression.
func ErrorIssue(code, expression, diagnostics string) Issue {
	is := Issue{Severity: "error", Code: code, Diagnostics: diagnostics}
	if expression != "" {
		is.Expression = []string{expression}
	}
	return is
}

// WarningIssue returns a warning-severity Issue about the element at expression.
func WarningIssue(code, expression, diagnostics string) Issue {
	is := ErrorIssue(code, expression, diagnostics)
	is.Severity = "warning"
	return is
}

// HasErrors reports whether any issue is of severity error or fatal.
func HasErrors(issues []Issue) bool {
	for _, is := range issues {
		if is.Severity == "error" || is.Severity == "fatal" {
			return true
		}
	}
	return false
}

// OperationOutcome builds an OperationOutcome resource from issues. With no issues it
// holds one informational "all OK" issue, since the resource needs at least one.
func OperationOutcome(issues []Issue) Resource {
	if len(issues) == 0 {
		issues = []Issue{{Severity: "information", Code: "informational", Diagnostics: "All OK"}}
	}
	list := make([]any, 0, len(issues))
	for _, is := range issues {
		e := map[string]any{"severity": is.Severity, "code": is.Code}
		if is.Diagnostics != "" {
			e["diagnostics"] = is.Diagnostics
		}
		if len(is.Expression) > 0 {
			ex := make([]any, len(is.Expression))
			for i, s := range is.Expression {
				ex[i] = s
			}
			e["expression"] = ex
		}
		list = append(list, e)
	}
	return Resource{"resourceType": "OperationOutcome", "issue": list}
}
