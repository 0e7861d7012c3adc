package web

import (
	"errors"
	"net/http"

	"omnichart/internal/ehr"
	"omnichart/internal/smart"
)

// launchApp starts an EHR launch of the posted app for the chart's patient: the
// user must be able to read that Patient (the same gate as the chart, so a
// patient outside the user's view is as unknown as a missing one), the launch
// context is recorded, and the browser goes to the app's launch URL with iss
// and launch. The app then asks the user to sign in and approve as any SMART
// app does; it learns the patient only from the token response.
func (h *Handler) launchApp(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Launcher == nil {
		h.fail(w, r, ehr.Errorf(ehr.NotFound, "this server launches no apps"))
		return
	}
	id := r.PathValue("id")
	if _, err := h.cfg.Service.Read(r.Context(), "Patient", id); err != nil {
		h.fail(w, r, err)
		return
	}
	to, err := h.cfg.Launcher.EHRLaunch(r, r.PostForm.Get("app"), id, "")
	if errors.Is(err, smart.ErrNoApp) {
		err = ehr.Errorf(ehr.Invalid, "%v", err)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// launchApps lists the apps a chart offers; none without a Launcher.
func (h *Handler) launchApps(r *http.Request) ([]smart.App, error) {
	if h.cfg.Launcher == nil {
		return nil, nil
	}
	return h.cfg.Launcher.LaunchApps(r.Context())
}
