package web

import (
	"net/http"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/control"
)

// routeTable is THE list of every endpoint mamori serves, with the
// permission each needs. Nothing is reachable that is not listed here, and a
// row without a permission stops start-up.
func (s *Server) routeTable() []Route {
	const (
		P = KindPage
		A = KindAPI
		S = KindSystem
	)
	pub, authd := mamori.Public, mamori.Authenticated
	get, post := http.MethodGet, http.MethodPost
	var (
		users    = mamori.PermUserManage
		settings = mamori.PermSettingsManage
		signins  = mamori.PermSignInRead
		review   = mamori.PermAccessReview
		cRead    = mamori.PermCatalogRead
		cManage  = mamori.PermCatalogManage
		aRead    = mamori.PermAssessmentRead
		aWrite   = mamori.PermAssessmentWrite
		aReview  = mamori.PermAssessmentReview
		put, del = http.MethodPut, http.MethodDelete
		audits   = mamori.PermAuditRead
		backups  = mamori.PermBackupManage
	)
	return []Route{
		// System.
		{Method: get, Pattern: "/healthz", Perm: pub, Kind: S, Handler: s.healthz},
		{Method: get, Pattern: "/readyz", Perm: pub, Kind: S, Handler: s.readyz},
		{Method: get, Pattern: "/static/{path...}", Perm: pub, Kind: S, Handler: s.static},
		{Method: get, Pattern: "/metrics", Perm: mamori.PermMetricsRead, Kind: S, Handler: s.metricsPage},
		{Method: get, Pattern: "/about", Perm: pub, Kind: P, Handler: s.about},

		// Sign-in and recovery (public; identical answers for every account).
		{Method: get, Pattern: "/sign-in", Perm: pub, Kind: P, Handler: s.signInForm},
		{Method: post, Pattern: "/sign-in", Perm: pub, Kind: P, Handler: s.signIn},
		{Method: get, Pattern: "/sign-in/mfa", Perm: pub, Kind: P, Handler: s.mfaForm},
		{Method: post, Pattern: "/sign-in/mfa", Perm: pub, Kind: P, Handler: s.mfaSubmit},
		{Method: post, Pattern: "/sign-in/mfa/passkey/begin", Perm: pub, Kind: P, Handler: s.passkeyMFABegin},
		{Method: post, Pattern: "/sign-in/mfa/passkey/finish", Perm: pub, Kind: P, Handler: s.passkeyMFAFinish},
		{Method: post, Pattern: "/sign-in/passkey/begin", Perm: pub, Kind: P, Handler: s.passkeySignInBegin},
		{Method: post, Pattern: "/sign-in/passkey/finish", Perm: pub, Kind: P, Handler: s.passkeySignInFinish},
		{Method: post, Pattern: "/sign-out", Perm: authd, Kind: P, Handler: s.signOut, AllowRestricted: true},
		{Method: get, Pattern: "/reset", Perm: pub, Kind: P, Handler: s.resetRequestForm},
		{Method: post, Pattern: "/reset", Perm: pub, Kind: P, Handler: s.resetRequest},
		{Method: get, Pattern: "/reset/{token}", Perm: pub, Kind: P, Handler: s.resetForm},
		{Method: post, Pattern: "/reset/{token}", Perm: pub, Kind: P, Handler: s.setPassword("reset")},
		{Method: get, Pattern: "/invite/{token}", Perm: pub, Kind: P, Handler: s.inviteForm},
		{Method: post, Pattern: "/invite/{token}", Perm: pub, Kind: P, Handler: s.setPassword("invite")},
		{Method: post, Pattern: "/lang", Perm: pub, Kind: P, Handler: s.setLanguage},

		// The signed-in user's own account.
		{Method: get, Pattern: "/account", Perm: authd, Kind: P, Handler: s.account},
		{Method: post, Pattern: "/account/profile", Perm: authd, Kind: P, Handler: s.updateProfile},
		{Method: get, Pattern: "/account/security", Perm: authd, Kind: P, Handler: s.security, AllowRestricted: true},
		{Method: get, Pattern: "/account/reauth", Perm: authd, Kind: P, Handler: s.reauthForm, AllowRestricted: true},
		{Method: post, Pattern: "/account/reauth", Perm: authd, Kind: P, Handler: s.reauth, AllowRestricted: true},
		{Method: post, Pattern: "/account/reauth/passkey/begin", Perm: authd, Kind: P, Handler: s.reauthPasskeyBegin, AllowRestricted: true},
		{Method: post, Pattern: "/account/reauth/passkey/finish", Perm: authd, Kind: P, Handler: s.reauthPasskeyFinish, AllowRestricted: true},
		{Method: get, Pattern: "/account/password", Perm: authd, Kind: P, Handler: s.passwordForm, AllowRestricted: true},
		{Method: post, Pattern: "/account/password", Perm: authd, Kind: P, Handler: s.changePassword, AllowRestricted: true},
		{Method: get, Pattern: "/account/mfa/totp", Perm: authd, Kind: P, Handler: s.totpForm, AllowRestricted: true},
		{Method: post, Pattern: "/account/mfa/totp", Perm: authd, Kind: P, Handler: s.totpConfirm, AllowRestricted: true},
		{Method: post, Pattern: "/account/mfa/totp/delete", Perm: authd, Kind: P, Handler: s.totpRemove, StepUp: true},
		{Method: post, Pattern: "/account/mfa/recovery-codes", Perm: authd, Kind: P, Handler: s.recoveryCodes, StepUp: true},
		{Method: post, Pattern: "/account/passkeys/begin", Perm: authd, Kind: P, Handler: s.passkeyRegisterBegin, AllowRestricted: true},
		{Method: post, Pattern: "/account/passkeys/finish", Perm: authd, Kind: P, Handler: s.passkeyRegisterFinish, AllowRestricted: true},
		{Method: post, Pattern: "/account/passkeys/{id}/delete", Perm: authd, Kind: P, Handler: s.passkeyRemove, StepUp: true},
		{Method: post, Pattern: "/account/sessions/{id}/revoke", Perm: authd, Kind: P, Handler: s.revokeSession},
		{Method: post, Pattern: "/account/tokens", Perm: authd, Kind: P, Handler: s.createToken, StepUp: true},
		{Method: post, Pattern: "/account/tokens/{id}/revoke", Perm: authd, Kind: P, Handler: s.revokeToken},
		{Method: get, Pattern: "/notifications", Perm: authd, Kind: P, Handler: s.notifications},
		{Method: post, Pattern: "/notifications/read", Perm: authd, Kind: P, Handler: s.notificationsRead},
		{Method: get, Pattern: "/approvals", Perm: authd, Kind: P, Handler: s.approvals},
		{Method: post, Pattern: "/approvals/{id}/decide", Perm: mamori.PermRiskApprove, Kind: P, Handler: s.decideApproval},
		{Method: post, Pattern: "/approvals/{id}/withdraw", Perm: authd, Kind: P, Handler: s.withdrawApproval},

		// The product.
		{Method: get, Pattern: "/{$}", Perm: mamori.PermDashboardRead, Kind: P, Handler: s.dashboard},
		{Method: get, Pattern: "/assessments", Perm: aRead, Kind: P, Handler: s.assessments},
		{Method: get, Pattern: "/assets", Perm: mamori.PermAssetRead, Kind: P, Handler: s.modulePage(moduleByHref("/assets"))},
		{Method: get, Pattern: "/vulnerabilities", Perm: mamori.PermVulnRead, Kind: P, Handler: s.modulePage(moduleByHref("/vulnerabilities"))},
		{Method: get, Pattern: "/detection", Perm: mamori.PermDetectRead, Kind: P, Handler: s.modulePage(moduleByHref("/detection"))},
		{Method: get, Pattern: "/incidents", Perm: mamori.PermIncidentRead, Kind: P, Handler: s.modulePage(moduleByHref("/incidents"))},
		{Method: get, Pattern: "/third-parties", Perm: mamori.PermThirdPartyRead, Kind: P, Handler: s.modulePage(moduleByHref("/third-parties"))},
		{Method: get, Pattern: "/reports", Perm: mamori.PermReportRead, Kind: P, Handler: s.modulePage(moduleByHref("/reports"))},

		// Control catalogs.
		{Method: get, Pattern: "/catalogs", Perm: cRead, Kind: P, Handler: s.catalogs},
		{Method: post, Pattern: "/catalogs/import", Perm: cManage, Kind: P, Upload: true, Handler: s.catalogImport},
		{Method: get, Pattern: "/catalogs/{key}", Perm: cRead, Kind: P, Handler: s.catalog},
		{Method: get, Pattern: "/catalogs/{key}/export", Perm: cRead, Kind: P, Handler: s.catalogExport},
		{Method: post, Pattern: "/catalogs/{key}/delete", Perm: cManage, Kind: P, Handler: s.catalogDelete},

		// Assessments: answers, evidence, review and sign-off, gaps, tasks, reports.
		{Method: get, Pattern: "/assessments/new", Perm: aWrite, Kind: P, Handler: s.assessmentNew},
		{Method: post, Pattern: "/assessments", Perm: aWrite, Kind: P, Handler: s.assessmentCreate},
		{Method: post, Pattern: "/assessments/import", Perm: aWrite, Kind: P, Upload: true, Handler: s.assessmentImport},
		{Method: get, Pattern: "/assessments/{id}", Perm: aRead, Kind: P, Handler: s.assessment},
		{Method: get, Pattern: "/assessment-items/{row}", Perm: aRead, Kind: P, Handler: s.itemByRow},
		{Method: get, Pattern: "/assessments/{id}/edit", Perm: aWrite, Kind: P, Handler: s.assessmentEdit},
		{Method: post, Pattern: "/assessments/{id}/edit", Perm: aWrite, Kind: P, Handler: s.assessmentUpdate},
		{Method: post, Pattern: "/assessments/{id}/submit", Perm: aWrite, Kind: P, Handler: s.assessmentStep("submitted", s.stepSubmit)},
		{Method: post, Pattern: "/assessments/{id}/return", Perm: aReview, Kind: P, Handler: s.assessmentStep("returned", s.stepReturn)},
		{Method: post, Pattern: "/assessments/{id}/sign-off", Perm: aReview, Kind: P, Handler: s.assessmentStep("signed_off", s.stepSignOff)},
		{Method: post, Pattern: "/assessments/{id}/reopen", Perm: aReview, Kind: P, Handler: s.assessmentStep("reopened", s.stepReopen)},
		{Method: get, Pattern: "/assessments/{id}/items", Perm: aRead, Kind: P, Handler: s.assessmentItems},
		{Method: get, Pattern: "/assessments/{id}/items/{item}", Perm: aRead, Kind: P, Handler: s.assessmentItem},
		{Method: post, Pattern: "/assessments/{id}/items/{item}", Perm: aWrite, Kind: P, Handler: s.itemAction("saved", s.itemAnswer)},
		{Method: post, Pattern: "/assessments/{id}/items/{item}/risk-acceptance", Perm: aWrite, Kind: P, Handler: s.itemAction("approval_requested", s.itemAccept)},
		{Method: post, Pattern: "/assessments/{id}/items/{item}/exclusion", Perm: aWrite, Kind: P, Handler: s.itemAction("approval_requested", s.itemExclude)},
		{Method: post, Pattern: "/assessments/{id}/items/{item}/exclusion/cancel", Perm: aWrite, Kind: P, Handler: s.itemAction("saved", s.itemUnexclude)},
		{Method: post, Pattern: "/assessments/{id}/items/{item}/review", Perm: aReview, Kind: P, Handler: s.itemAction("reviewed", s.itemReview)},
		{Method: post, Pattern: "/assessments/{id}/items/{item}/evidence", Perm: aWrite, Kind: P, Upload: true, Handler: s.itemAction("evidence_added", s.itemEvidence)},
		{Method: post, Pattern: "/assessments/{id}/evidence/{eid}/renew", Perm: aWrite, Kind: P, Handler: s.evidenceAction("saved", s.evidenceRenew)},
		{Method: post, Pattern: "/assessments/{id}/evidence/{eid}/delete", Perm: aWrite, Kind: P, Handler: s.evidenceAction("evidence_removed", s.evidenceRemove)},
		{Method: get, Pattern: "/assessments/{id}/evidence/{eid}/file", Perm: aRead, Kind: P, Handler: s.evidenceFile},
		{Method: get, Pattern: "/assessments/{id}/gaps", Perm: aRead, Kind: P, Handler: s.assessmentGaps},
		{Method: get, Pattern: "/assessments/{id}/tasks", Perm: aRead, Kind: P, Handler: s.assessmentTasks},
		{Method: post, Pattern: "/assessments/{id}/tasks", Perm: aWrite, Kind: P, Handler: s.taskAction("saved", s.taskCreate)},
		{Method: post, Pattern: "/assessments/{id}/tasks/{tid}", Perm: aWrite, Kind: P, Handler: s.taskAction("saved", s.taskUpdate)},
		{Method: post, Pattern: "/assessments/{id}/tasks/{tid}/complete", Perm: aWrite, Kind: P, Handler: s.taskAction("saved", s.taskComplete)},
		{Method: post, Pattern: "/assessments/{id}/tasks/{tid}/reopen", Perm: aWrite, Kind: P, Handler: s.taskAction("saved", s.taskReopen)},
		{Method: get, Pattern: "/assessments/{id}/report", Perm: aRead, Kind: P, Handler: s.assessmentReport},
		{Method: get, Pattern: "/assessments/{id}/export/{format}", Perm: aRead, Kind: P, Handler: s.assessmentExport},
		{Method: get, Pattern: "/obligations", Perm: aRead, Kind: P, Handler: s.obligations},
		{Method: post, Pattern: "/obligations/fiscal-year", Perm: cManage, Kind: P, Handler: s.obligationAction(s.fiscalYearSet)},
		{Method: post, Pattern: "/obligations/{catalog}/{item}", Perm: aWrite, Kind: P, Handler: s.obligationAction(s.obligationSet)},
		{Method: post, Pattern: "/obligations/{catalog}/{item}/done", Perm: aWrite, Kind: P, Handler: s.obligationAction(s.obligationDone)},

		// Administration.
		{Method: get, Pattern: "/admin", Perm: authd, Kind: P, Handler: s.adminHome},
		{Method: get, Pattern: "/admin/users", Perm: users, Kind: P, Handler: s.adminUsers},
		{Method: get, Pattern: "/admin/users/new", Perm: users, Kind: P, Handler: s.adminUserNew},
		{Method: post, Pattern: "/admin/users", Perm: users, Kind: P, Handler: s.adminInvite},
		{Method: get, Pattern: "/admin/users/{id}", Perm: users, Kind: P, Handler: s.adminUser},
		{Method: post, Pattern: "/admin/users/{id}", Perm: users, Kind: P, Handler: s.adminUserAction("saved", s.adminUserUpdate)},
		{Method: post, Pattern: "/admin/users/{id}/roles", Perm: users, Kind: P, StepUp: true, Handler: s.adminUserAction("saved",
			func(r *http.Request, id string) error {
				return s.svc.Auth.SetUserRoles(r.Context(), id, r.PostForm["roles"])
			})},
		{Method: post, Pattern: "/admin/users/{id}/disable", Perm: users, Kind: P, Handler: s.adminUserAction("saved",
			func(r *http.Request, id string) error {
				return s.svc.Auth.DisableUser(r.Context(), id, r.PostFormValue("reason"))
			})},
		{Method: post, Pattern: "/admin/users/{id}/enable", Perm: users, Kind: P, Handler: s.adminUserAction("saved",
			func(r *http.Request, id string) error { return s.svc.Auth.EnableUser(r.Context(), id) })},
		{Method: post, Pattern: "/admin/users/{id}/delete", Perm: users, Kind: P, StepUp: true, Handler: s.adminUserAction("saved",
			func(r *http.Request, id string) error { return s.svc.Auth.DeleteUser(r.Context(), id) })},
		{Method: post, Pattern: "/admin/users/{id}/reset-password", Perm: users, Kind: P, Handler: s.adminUserAction("reset_forced",
			func(r *http.Request, id string) error { return s.svc.Auth.ForcePasswordReset(r.Context(), id) })},
		{Method: post, Pattern: "/admin/users/{id}/reset-mfa", Perm: users, Kind: P, StepUp: true, Handler: s.adminUserAction("mfa_reset",
			func(r *http.Request, id string) error { return s.svc.Auth.ResetMFA(r.Context(), id) })},
		{Method: post, Pattern: "/admin/users/{id}/revoke-sessions", Perm: users, Kind: P, Handler: s.adminUserAction("sessions_revoked",
			func(r *http.Request, id string) error {
				_, err := s.svc.Auth.RevokeUserSessions(r.Context(), id)
				return err
			})},
		{Method: get, Pattern: "/admin/roles", Perm: authd, Kind: P, Handler: s.adminRoles},
		{Method: get, Pattern: "/admin/sign-ins", Perm: signins, Kind: P, Handler: s.adminSignIns},
		{Method: get, Pattern: "/admin/locks", Perm: users, Kind: P, Handler: s.adminLocks},
		{Method: post, Pattern: "/admin/locks/unlock", Perm: users, Kind: P, Handler: s.adminUnlock},
		{Method: get, Pattern: "/admin/access-review", Perm: review, Kind: P, Handler: s.adminAccessReview},
		{Method: post, Pattern: "/admin/access-review", Perm: review, Kind: P, Handler: s.adminAccessReviewRecord},
		{Method: get, Pattern: "/admin/settings", Perm: settings, Kind: P, Handler: s.adminSettings},
		{Method: post, Pattern: "/admin/settings", Perm: settings, Kind: P, StepUp: true, Handler: s.adminSettingsSave},
		{Method: get, Pattern: "/admin/audit", Perm: audits, Kind: P, Handler: s.adminAudit},
		{Method: get, Pattern: "/admin/audit/export.csv", Perm: audits, Kind: P, Handler: s.adminAuditExport},
		{Method: get, Pattern: "/admin/audit/checkpoint.txt", Perm: audits, Kind: P, Handler: s.adminAuditCheckpoint},
		{Method: post, Pattern: "/admin/audit/checkpoint", Perm: audits, Kind: P, Handler: s.adminAuditSign},
		{Method: get, Pattern: "/admin/backups", Perm: backups, Kind: P, Handler: s.adminBackups},
		{Method: post, Pattern: "/admin/backups/run", Perm: backups, Kind: P, StepUp: true, Handler: s.adminBackupRun},

		// REST API.
		{Method: get, Pattern: "/api/v1/openapi.json", Perm: pub, Kind: A, Handler: s.openAPI,
			Doc: &APIDoc{ID: "getOpenAPI", Summary: "This OpenAPI document.", Tag: "system"}},
		{Method: get, Pattern: "/api/v1/me", Perm: authd, Kind: A, Handler: s.apiMe,
			Doc: &APIDoc{ID: "getMe", Summary: "The token's user, roles and effective permissions.", Tag: "identity", Out: apiMe{}}},
		{Method: get, Pattern: "/api/v1/roles", Perm: authd, Kind: A, Handler: s.apiRoles,
			Doc: &APIDoc{ID: "listRoles", Summary: "The role → permission table.", Tag: "identity", Out: []apiRole{}}},
		{Method: get, Pattern: "/api/v1/users", Perm: users, Kind: A, Handler: s.apiUsers,
			Doc: &APIDoc{ID: "listUsers", Summary: "User accounts.", Tag: "identity", Out: Page[apiUser]{},
				Query: []Param{{"q", "string", "substring of address, name or department"}, {"status", "string", "active, disabled or deleted"},
					{"role", "string", "role ID"}, {"limit", "integer", "page size (1–500)"}, {"offset", "integer", "items to skip"}}}},
		{Method: get, Pattern: "/api/v1/users/{id}", Perm: users, Kind: A, Handler: s.apiUser,
			Doc: &APIDoc{ID: "getUser", Summary: "One user account.", Tag: "identity", Out: apiUser{}}},
		{Method: get, Pattern: "/api/v1/sign-ins", Perm: signins, Kind: A, Handler: s.apiSignIns,
			Doc: &APIDoc{ID: "listSignIns", Summary: "Sign-in history of every account.", Tag: "identity", Out: Page[apiSignIn]{},
				Query: []Param{{"login", "string", "substring of the login ID"}, {"addr", "string", "prefix of the source address"},
					{"outcome", "string", "success or failure"}, {"since", "string", "YYYY-MM-DD"}, {"until", "string", "YYYY-MM-DD (inclusive)"},
					{"limit", "integer", "page size (1–500)"}, {"offset", "integer", "items to skip"}}}},
		{Method: get, Pattern: "/api/v1/approvals", Perm: authd, Kind: A, Handler: s.apiApprovals,
			Doc: &APIDoc{ID: "listApprovals", Summary: "Approval requests (separation of duties).", Tag: "identity", Out: []apiApproval{},
				Query: []Param{{"status", "string", "pending, approved, rejected, withdrawn or expired"}}}},
		{Method: get, Pattern: "/api/v1/audit/events", Perm: audits, Kind: A, Handler: s.apiAuditEvents,
			Doc: &APIDoc{ID: "listAuditEvents", Summary: "Audit events, newest first, with the data of each Merkle leaf.", Tag: "audit", Out: Page[apiAuditEvent]{},
				Query: []Param{{"since", "string", "YYYY-MM-DD or YYYY-MM-DDTHH:MM (Japan time), or RFC 3339"}, {"until", "string", "as since; a day is inclusive"},
					{"actor", "string", "user ID, system, or part of the actor's e-mail address"}, {"type", "string", "event type, type prefix (auth, auth.sign_in) or code (M1000W)"},
					{"target_type", "string", "kind of target (user, setting …)"}, {"target_id", "string", "ID of the target"},
					{"outcome", "string", "success, failure or denied"}, {"limit", "integer", "page size (1–500)"}, {"offset", "integer", "items to skip"}}}},
		{Method: get, Pattern: "/api/v1/audit/events/{id}", Perm: audits, Kind: A, Handler: s.apiAuditEvent,
			Doc: &APIDoc{ID: "getAuditEvent", Summary: "One audit event.", Tag: "audit", Out: apiAuditEvent{}}},
		{Method: get, Pattern: "/api/v1/audit/events/{id}/proof", Perm: audits, Kind: A, Handler: s.apiAuditInclusion,
			Doc: &APIDoc{ID: "proveAuditEvent", Summary: "RFC 6962 inclusion proof of an event in a signed tree.", Tag: "audit", Out: apiInclusion{},
				Query: []Param{{"size", "integer", "tree size; default: the latest signed checkpoint (one is signed if the event is newer)"}}}},
		{Method: get, Pattern: "/api/v1/audit/consistency", Perm: audits, Kind: A, Handler: s.apiAuditConsistency,
			Doc: &APIDoc{ID: "proveAuditConsistency", Summary: "RFC 6962 consistency proof: the trail of size to extends the trail of size from.", Tag: "audit", Out: apiConsistency{},
				Query: []Param{{"from", "integer", "tree size of the checkpoint you kept"}, {"to", "integer", "tree size; default: the latest signed checkpoint"}}}},
		{Method: get, Pattern: "/api/v1/audit/checkpoint", Perm: audits, Kind: A, Handler: s.apiAuditCheckpoint,
			Doc: &APIDoc{ID: "getAuditCheckpoint", Summary: "The latest signed checkpoint of the audit trail.", Tag: "audit", Out: apiCheckpoint{}}},
		{Method: get, Pattern: "/api/v1/audit/checkpoints", Perm: audits, Kind: A, Handler: s.apiAuditCheckpoints,
			Doc: &APIDoc{ID: "listAuditCheckpoints", Summary: "Signed checkpoints, latest first.", Tag: "audit", Out: []apiCheckpoint{},
				Query: []Param{{"limit", "integer", "how many (1–500)"}}}},
		{Method: post, Pattern: "/api/v1/audit/checkpoints", Perm: audits, Kind: A, Handler: s.apiAuditSign,
			Doc: &APIDoc{ID: "signAuditCheckpoint", Summary: "Sign and publish a checkpoint of the trail as it is now.", Tag: "audit", Out: apiCheckpoint{}}},
		{Method: get, Pattern: "/api/v1/backups/drills", Perm: backups, Kind: A, Handler: s.apiDrills,
			Doc: &APIDoc{ID: "listBackupDrills", Summary: "Backups with their verification and test restore (restore drills), newest first.", Tag: "backup", Out: []apiDrill{},
				Query: []Param{{"limit", "integer", "how many (1–500)"}}}},
		{Method: post, Pattern: "/api/v1/approvals/{id}/decision", Perm: mamori.PermRiskApprove, Kind: A, Handler: s.apiDecideApproval,
			Doc: &APIDoc{ID: "decideApproval", Summary: "Approve or reject a request made by someone else.", Tag: "identity", In: apiDecision{}, Out: apiApproval{}}},
		// Catalogs and assessments.
		{Method: get, Pattern: "/api/v1/catalogs", Perm: cRead, Kind: A, Handler: s.apiCatalogs,
			Doc: &APIDoc{ID: "listCatalogs", Summary: "Control catalogs, shipped and imported, with item counts by tier.", Tag: "catalogs", Out: []control.CatalogInfo{}}},
		{Method: post, Pattern: "/api/v1/catalogs", Perm: cManage, Kind: A, Upload: true, Handler: s.apiCatalogImport,
			Doc: &APIDoc{ID: "importCatalog", Summary: "Import a catalog file sent as the body (mamori JSON or YAML, OSCAL 1.1 catalog JSON, CISO Assistant library YAML), all or nothing.",
				Tag: "catalogs", Status: 201, Out: control.StoredCatalog{},
				Query: []Param{{"format", "string", "auto, mamori-json, mamori-yaml, oscal or ciso-assistant"}, {"id", "string", "framework ID to give the catalog"},
					{"lang", "string", "language of a foreign OSCAL catalog"}, {"edition", "string", "edition date YYYY-MM-DD when the file has none"},
					{"tiers", "string", "CISO Assistant implementation groups as tiers, e.g. S=basic,R=desirable"}, {"file_name", "string", "the file's name, for the record"}}}},
		{Method: get, Pattern: "/api/v1/catalogs/{key}", Perm: cRead, Kind: A, Handler: s.apiCatalog,
			Doc: &APIDoc{ID: "getCatalog", Summary: "A whole catalog in mamori's JSON shape (mamori.catalog/v1): tree, texts in every language, mappings.", Tag: "catalogs", Out: map[string]any{}}},
		{Method: get, Pattern: "/api/v1/people", Perm: aRead, Kind: A, Handler: s.apiPeople,
			Doc: &APIDoc{ID: "listPeople", Summary: "People items and tasks can be assigned to (names masked without the personal-data permission).", Tag: "assessments", Out: []control.Person{}}},
		{Method: get, Pattern: "/api/v1/assessments", Perm: aRead, Kind: A, Handler: s.apiAssessments,
			Doc: &APIDoc{ID: "listAssessments", Summary: "Assessments, newest first.", Tag: "assessments", Out: []control.Assessment{},
				Query: []Param{{"state", "string", "open, in_review or signed_off"}, {"catalog", "string", "framework ID"}}}},
		{Method: post, Pattern: "/api/v1/assessments", Perm: aWrite, Kind: A, Handler: s.apiAssessmentCreate,
			Doc: &APIDoc{ID: "createAssessment", Summary: "Start an assessment, optionally copied forward from a previous one.", Tag: "assessments", In: apiNewAssessment{}, Out: control.Assessment{}, Status: 201}},
		{Method: post, Pattern: "/api/v1/assessments/import", Perm: aWrite, Kind: A, Upload: true, Handler: s.apiAssessmentImport,
			Doc: &APIDoc{ID: "importAssessment", Summary: "Import an assessment workbook (XLSX) or JSON export sent as the body, all or nothing; problems are listed by sheet, row and column.",
				Tag: "assessments", Out: control.ImportResult{}, Query: []Param{{"as_new", "boolean", "create a new assessment even if the file's exists"}}}},
		{Method: get, Pattern: "/api/v1/assessments/{id}", Perm: aRead, Kind: A, Handler: s.apiAssessment,
			Doc: &APIDoc{ID: "getAssessment", Summary: "An assessment with its progress per area and section, by tier.", Tag: "assessments", Out: apiAssessmentDetail{}}},
		{Method: put, Pattern: "/api/v1/assessments/{id}", Perm: aWrite, Kind: A, Handler: s.apiAssessmentUpdate,
			Doc: &APIDoc{ID: "updateAssessment", Summary: "Change an assessment's title, profile, scope, conditions or period.", Tag: "assessments", In: apiAssessmentEdit{}, Out: control.Assessment{}}},
		{Method: post, Pattern: "/api/v1/assessments/{id}/submit", Perm: aWrite, Kind: A, Handler: s.apiStep(func(r *http.Request, id, _ string) (*control.Assessment, error) {
			return s.svc.Control.Submit(r.Context(), id)
		}), Doc: &APIDoc{ID: "submitAssessment", Summary: "Submit an assessment whose in-scope items are all answered for second-line review.", Tag: "assessments", Out: control.Assessment{}}},
		{Method: post, Pattern: "/api/v1/assessments/{id}/return", Perm: aReview, Kind: A, Handler: s.apiStep(func(r *http.Request, id, note string) (*control.Assessment, error) {
			return s.svc.Control.Return(r.Context(), id, note)
		}), Doc: &APIDoc{ID: "returnAssessment", Summary: "Return an assessment in review to the first line, with a note.", Tag: "assessments", In: apiNote{}, Out: control.Assessment{}}},
		{Method: post, Pattern: "/api/v1/assessments/{id}/sign-off", Perm: aReview, Kind: A, Handler: s.apiStep(func(r *http.Request, id, note string) (*control.Assessment, error) {
			return s.svc.Control.SignOff(r.Context(), id, note)
		}), Doc: &APIDoc{ID: "signOffAssessment", Summary: "Second-line sign-off: every in-scope item answered and agreed, by someone other than the submitter.", Tag: "assessments", In: apiNote{}, Out: control.Assessment{}}},
		{Method: post, Pattern: "/api/v1/assessments/{id}/reopen", Perm: aReview, Kind: A, Handler: s.apiStep(func(r *http.Request, id, note string) (*control.Assessment, error) {
			return s.svc.Control.Reopen(r.Context(), id, note)
		}), Doc: &APIDoc{ID: "reopenAssessment", Summary: "Reopen a signed-off assessment, for a stated reason.", Tag: "assessments", In: apiNote{}, Out: control.Assessment{}}},
		{Method: get, Pattern: "/api/v1/assessments/{id}/history", Perm: aRead, Kind: A, Handler: s.apiAssessmentHistory,
			Doc: &APIDoc{ID: "getAssessmentHistory", Summary: "The audit events of an assessment, newest first.", Tag: "assessments", Out: []apiEvent{}}},
		{Method: get, Pattern: "/api/v1/assessments/{id}/progress", Perm: aRead, Kind: A, Handler: s.apiProgress,
			Doc: &APIDoc{ID: "getProgress", Summary: "Progress per area and section: counts and percentages by tier and status.", Tag: "assessments", Out: control.Progress{}}},
		{Method: get, Pattern: "/api/v1/assessments/{id}/gaps", Perm: aRead, Kind: A, Handler: s.apiGaps,
			Doc: &APIDoc{ID: "listGaps", Summary: "In-scope items not met, ordered by tier, due date and owner.", Tag: "assessments", Out: []apiGap{}}},
		{Method: get, Pattern: "/api/v1/assessments/{id}/export", Perm: aRead, Kind: A, Handler: s.apiAssessmentExport,
			Doc: &APIDoc{ID: "exportAssessment", Summary: "Download an assessment: workbook (xlsx), JSON, PDF report, or check-sheet answer (checksheet-xlsx, checksheet-csv).", Tag: "assessments",
				Query: []Param{{"format", "string", "xlsx, json, pdf, checksheet-xlsx or checksheet-csv"}, {"lang", "string", "ja or en"}}}},
		{Method: get, Pattern: "/api/v1/assessments/{id}/items", Perm: aRead, Kind: A, Handler: s.apiItems,
			Doc: &APIDoc{ID: "listItems", Summary: "Every item of an assessment with its answer and standing.", Tag: "assessments", Out: []apiRow{}}},
		{Method: get, Pattern: "/api/v1/assessments/{id}/items/{item}", Perm: aRead, Kind: A, Handler: s.apiItem,
			Doc: &APIDoc{ID: "getItem", Summary: "One item: requirement, answer, evidence, tasks and history.", Tag: "assessments", Out: apiItemDetail{}}},
		{Method: put, Pattern: "/api/v1/assessments/{id}/items/{item}", Perm: aWrite, Kind: A, Handler: s.apiItemUpdate,
			Doc: &APIDoc{ID: "answerItem", Summary: "Answer an item: status, target date, rationale, owner, due date, explanation, notes.", Tag: "assessments", In: apiAnswer{}, Out: control.Item{}}},
		{Method: post, Pattern: "/api/v1/assessments/{id}/items/{item}/risk-acceptance", Perm: aWrite, Kind: A, Handler: s.apiItemApproval(false),
			Doc: &APIDoc{ID: "requestRiskAcceptance", Summary: "Accept an item's risk until a day; someone else with risk.approve must approve it.", Tag: "assessments", In: apiApprovalRequest{}, Out: control.Item{}}},
		{Method: post, Pattern: "/api/v1/assessments/{id}/items/{item}/exclusion", Perm: aWrite, Kind: A, Handler: s.apiItemApproval(true),
			Doc: &APIDoc{ID: "requestExclusion", Summary: "Exclude an item (custom profile) with a rationale until a day; someone else must approve it.", Tag: "assessments", In: apiApprovalRequest{}, Out: control.Item{}}},
		{Method: post, Pattern: "/api/v1/assessments/{id}/items/{item}/exclusion/cancel", Perm: aWrite, Kind: A, Handler: s.apiItemUnexclude,
			Doc: &APIDoc{ID: "cancelExclusion", Summary: "Bring an excluded item back into scope.", Tag: "assessments", In: apiVersion{}, Out: control.Item{}}},
		{Method: post, Pattern: "/api/v1/assessments/{id}/items/{item}/review", Perm: aReview, Kind: A, Handler: s.apiItemReview,
			Doc: &APIDoc{ID: "reviewItem", Summary: "Second-line review of an answer given by someone else: agree, or challenge with a note.", Tag: "assessments", In: apiReview{}, Out: control.Item{}}},
		{Method: post, Pattern: "/api/v1/assessments/{id}/items/{item}/evidence", Perm: aWrite, Kind: A, Handler: s.apiEvidenceAdd,
			Doc: &APIDoc{ID: "addEvidenceLink", Summary: "Attach evidence that is a web address or a record in mamori.", Tag: "assessments", In: apiEvidenceLink{}, Out: control.Evidence{}, Status: 201}},
		{Method: post, Pattern: "/api/v1/assessments/{id}/items/{item}/evidence/file", Perm: aWrite, Kind: A, Upload: true, Handler: s.apiEvidenceUpload,
			Doc: &APIDoc{ID: "uploadEvidence", Summary: "Attach an evidence file sent as the body (its Content-Type is kept).", Tag: "assessments", Out: control.Evidence{}, Status: 201,
				Query: []Param{{"name", "string", "file name"}, {"title", "string", "description (default: the name)"},
					{"effective_on", "string", "YYYY-MM-DD"}, {"expires_on", "string", "YYYY-MM-DD"}}}},
		{Method: get, Pattern: "/api/v1/assessments/{id}/evidence/{eid}/file", Perm: aRead, Kind: A, Handler: s.evidenceFile,
			Doc: &APIDoc{ID: "downloadEvidence", Summary: "Download an evidence file.", Tag: "assessments"}},
		{Method: post, Pattern: "/api/v1/assessments/{id}/evidence/{eid}/renew", Perm: aWrite, Kind: A, Handler: s.apiEvidenceRenew,
			Doc: &APIDoc{ID: "renewEvidence", Summary: "Confirm evidence is current: re-date it and clear its renewal flag.", Tag: "assessments", In: apiRenewal{}, Out: control.Evidence{}}},
		{Method: del, Pattern: "/api/v1/assessments/{id}/evidence/{eid}", Perm: aWrite, Kind: A, Handler: s.apiEvidenceDelete,
			Doc: &APIDoc{ID: "removeEvidence", Summary: "Remove evidence from its item (the item needs a new review).", Tag: "assessments", Status: 204}},
		{Method: get, Pattern: "/api/v1/assessments/{id}/tasks", Perm: aRead, Kind: A, Handler: s.apiTasks,
			Doc: &APIDoc{ID: "listTasks", Summary: "Remediation tasks of an assessment, soonest due first.", Tag: "assessments", Out: []control.Task{},
				Query: []Param{{"state", "string", "open or done"}, {"owner_id", "string", "user ID"}}}},
		{Method: post, Pattern: "/api/v1/assessments/{id}/tasks", Perm: aWrite, Kind: A, Handler: s.apiTaskCreate,
			Doc: &APIDoc{ID: "createTask", Summary: "Create a remediation task with an owner and a deadline.", Tag: "assessments", In: apiTaskInput{}, Out: control.Task{}, Status: 201}},
		{Method: put, Pattern: "/api/v1/assessments/{id}/tasks/{tid}", Perm: aWrite, Kind: A, Handler: s.apiTaskUpdate,
			Doc: &APIDoc{ID: "updateTask", Summary: "Change or reassign a task.", Tag: "assessments", In: apiTaskInput{}, Out: control.Task{}}},
		{Method: post, Pattern: "/api/v1/assessments/{id}/tasks/{tid}/complete", Perm: aWrite, Kind: A, Handler: s.apiTaskComplete,
			Doc: &APIDoc{ID: "completeTask", Summary: "Mark a task done.", Tag: "assessments", In: apiTaskDone{}, Out: control.Task{}}},
		{Method: post, Pattern: "/api/v1/assessments/{id}/tasks/{tid}/reopen", Perm: aWrite, Kind: A, Handler: s.apiTaskReopen,
			Doc: &APIDoc{ID: "reopenTask", Summary: "Reopen a completed task.", Tag: "assessments", In: apiVersion{}, Out: control.Task{}}},
		{Method: get, Pattern: "/api/v1/obligations", Perm: aRead, Kind: A, Handler: s.apiObligations,
			Doc: &APIDoc{ID: "listObligations", Summary: "Recurring obligations of a catalog with their next deadlines, from the current fiscal year.", Tag: "obligations", Out: apiCalendar{},
				Query: []Param{{"catalog", "string", "framework ID or key (default fsa-csgl)"}}}},
		{Method: put, Pattern: "/api/v1/obligations/fiscal-year-start", Perm: cManage, Kind: A, Handler: s.apiFiscalYearSet,
			Doc: &APIDoc{ID: "setFiscalYearStart", Summary: "Set the first day of the fiscal year obligations are scheduled from.", Tag: "obligations", In: apiFiscalYear{}, Out: apiOK{}}},
		{Method: put, Pattern: "/api/v1/obligations/{catalog}/{item}", Perm: aWrite, Kind: A, Handler: s.apiObligationSet,
			Doc: &APIDoc{ID: "setObligation", Summary: "Set an obligation's owner and interval.", Tag: "obligations", In: apiObligationSet{}, Out: apiOK{}}},
		{Method: post, Pattern: "/api/v1/obligations/{catalog}/{item}/done", Perm: aWrite, Kind: A, Handler: s.apiObligationDone,
			Doc: &APIDoc{ID: "recordObligationDone", Summary: "Record that an obligation was performed on a day.", Tag: "obligations", In: apiObligationDone{}, Out: apiOK{}}},
	}
}
