package web

import (
	"html/template"
	"net/http"
	"slices"
	"strings"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/service"
)

// reconcileView is the reconciliation of the enterprise's own Patient record of
// the person: its own problems, medications and allergies next to those
// received from other sources.
type reconcileView struct {
	// Own is the id of the enterprise's Patient the decisions are made on.
	Own      string
	Source   sourceView
	OwnItems []reconcileItem
	Received []reconcileItem
}

type reconcileItem struct {
	Ref, Type, Text, State string
	Source                 sourceView
	Disagrees              bool
	// Decidable is true while the item may still be accepted or reviewed.
	Decidable bool
}

// reconciliation fills d's reconciliation when the caller writes for a source
// that holds one of the person's records; otherwise it says why there is none.
func (h *Handler) reconciliation(r *http.Request, patients []*ehr.Record, d *chartData) error {
	ctx := r.Context()
	src := ehr.PrincipalFrom(ctx).Source
	own := ""
	for _, p := range patients {
		if src != "" && p.Source == src {
			own = p.ID
			break
		}
	}
	if own == "" {
		d.ReconcileNote = "Reconciliation is done by an enterprise on its own record of the patient, and your organization holds none of this person's records."
		return nil
	}
	rec, err := h.cfg.Service.Reconciliation(ctx, own)
	if code := ehr.ErrorCode(err); code == ehr.Forbidden || code == ehr.Invalid {
		d.ReconcileNote = "Reconciliation is not available here: " + err.Error()
		return nil
	}
	if err != nil {
		return err
	}
	names, err := h.sourceNames(ctx)
	if err != nil {
		return err
	}
	v := &reconcileView{Own: own, Source: sourceOf(names, rec.Source)}
	for _, o := range rec.Own {
		v.OwnItems = append(v.OwnItems, itemOf(o, names, ""))
	}
	for _, it := range rec.Received {
		ri := itemOf(it.Record, names, it.State)
		ri.Disagrees = len(it.DisagreesWith) > 0
		ri.Decidable = it.State != service.ItemAccepted
		v.Received = append(v.Received, ri)
	}
	d.Reconciliation = v
	return nil
}

func itemOf(rec *ehr.Record, names map[string]sourceView, state string) reconcileItem {
	it := reconcileItem{Ref: rec.Reference(), Type: rec.Type, State: state, Source: sourceOf(names, rec.Source)}
	res, err := fhir.Decode(rec.Resource)
	if err != nil {
		it.Text = "(cannot be read)"
		return it
	}
	for _, k := range []string{"code", "medicationCodeableConcept"} {
		if t := conceptText(fhir.Object(res, k)); t != "" {
			it.Text = t
			break
		}
	}
	if it.Text == "" {
		it.Text = "(not named by the source)"
	}
	return it
}

// reconcileDecide accepts or marks reviewed an item received from another
// source, through the engine's reconcile-decide logic.
func (h *Handler) reconcileDecide(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	own := r.PostForm.Get("own")
	// The decision is made from this chart: on a record of another person it
	// would land where the user is not looking.
	if linked, err := h.samePerson(r, id, own); err != nil {
		h.fail(w, r, err)
		return
	} else if !linked {
		h.fail(w, r, ehr.Errorf(ehr.Invalid, "Patient/%s is not a record of the person this chart shows; reload the chart and decide there", own))
		return
	}
	if _, err := h.cfg.Service.Reconcile(r.Context(), own, r.PostForm.Get("item"), r.PostForm.Get("decision")); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/patients/"+id+"#reconciliation", http.StatusSeeOther)
}

type noteData struct {
	ID, Title string
	Date      dateView
	Source    sourceView
	// Rendered is the document viewer's safe HTML, when one is wired.
	Rendered template.HTML
	// Text is the note as escaped plain text, otherwise.
	Text string
}

// notePage shows a note or original document: through the document viewer when
// one is wired, else its text attachments as plain text (escaped by the
// template, never interpreted).
func (h *Handler) notePage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	typ := r.PathValue("type")
	if typ != "DocumentReference" && typ != "Composition" {
		h.fail(w, r, ehr.Errorf(ehr.NotFound, "there is no page at this address"))
		return
	}
	// Reading the Patient first keeps a note outside the caller's view of this
	// patient as unreachable as a missing one.
	if _, err := h.cfg.Service.Read(ctx, "Patient", r.PathValue("id")); err != nil {
		h.fail(w, r, err)
		return
	}
	rec, err := h.cfg.Service.Read(ctx, typ, r.PathValue("nid"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// A note is shown under a patient's chart only when it is about that
	// patient (one of the person's linked records): a note of someone else,
	// reached by editing the address, would be read as this patient's. It
	// answers as a missing note does.
	if ok, err := h.aboutPerson(r, r.PathValue("id"), rec); err != nil {
		h.fail(w, r, err)
		return
	} else if !ok {
		h.fail(w, r, ehr.Errorf(ehr.NotFound, "%s/%s is not known", typ, r.PathValue("nid")))
		return
	}
	res, err := fhir.Decode(rec.Resource)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	names, err := h.sourceNames(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := noteData{ID: r.PathValue("id"), Title: fhir.String(res, "title"), Date: firstDate(res, "date"), Source: sourceOf(names, rec.Source)}
	if d.Title == "" {
		d.Title = conceptText(fhir.Object(res, "type"))
	}
	if d.Title == "" {
		d.Title = "Note"
	}
	if h.cfg.Documents != nil {
		if d.Rendered, err = h.cfg.Documents(ctx, rec); err != nil {
			h.fail(w, r, err)
			return
		}
	} else {
		d.Text = plainText(res)
	}
	h.render(w, r, http.StatusOK, "note", d.Title, viewerFrom(ctx), d)
}

// aboutPerson reports whether rec is in the compartment of Patient/id or of one
// of the records the patient index links to it.
func (h *Handler) aboutPerson(r *http.Request, id string, rec *ehr.Record) (bool, error) {
	pid, ok := strings.CutPrefix(rec.Compartment, "Patient/")
	if !ok {
		return false, nil
	}
	return h.samePerson(r, id, pid)
}

// samePerson reports whether Patient/other is Patient/id or one of the records
// the patient index links to it.
func (h *Handler) samePerson(r *http.Request, id, other string) (bool, error) {
	if other == id {
		return true, nil
	}
	ids, err := h.cfg.Service.LinkedPatients(r.Context(), id)
	if err != nil {
		return false, err
	}
	return slices.Contains(ids, other), nil
}

// plainText is the text of a note: its text/* attachments, or its narrative's
// characters with the markup left as it was sent (the template escapes it).
func plainText(res map[string]any) string {
	var parts []string
	for _, c := range fhir.Array(res, "content") {
		m, _ := c.(map[string]any)
		att := fhir.Object(m, "attachment")
		if strings.HasPrefix(fhir.String(att, "contentType"), "text/") {
			if data := decodeBase64(fhir.String(att, "data")); data != "" {
				parts = append(parts, data)
			}
		}
	}
	for _, s := range fhir.Array(res, "section") {
		m, _ := s.(map[string]any)
		parts = append(parts, fhir.String(m, "title")+"\n"+fhir.String(fhir.Object(m, "text"), "div"))
	}
	if len(parts) == 0 {
		if div := fhir.String(fhir.Object(res, "text"), "div"); div != "" {
			parts = append(parts, div)
		}
	}
	if len(parts) == 0 {
		return "This record carries no text that can be shown as plain text."
	}
	return strings.Join(parts, "\n\n")
}
