package web

import (
	"net/http"

	"github.com/mamori-dev/mamori"
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
		{Method: get, Pattern: "/assessments", Perm: mamori.PermAssessmentRead, Kind: P, Handler: s.modulePage(moduleByHref("/assessments"))},
		{Method: get, Pattern: "/assets", Perm: mamori.PermAssetRead, Kind: P, Handler: s.modulePage(moduleByHref("/assets"))},
		{Method: get, Pattern: "/vulnerabilities", Perm: mamori.PermVulnRead, Kind: P, Handler: s.modulePage(moduleByHref("/vulnerabilities"))},
		{Method: get, Pattern: "/detection", Perm: mamori.PermDetectRead, Kind: P, Handler: s.modulePage(moduleByHref("/detection"))},
		{Method: get, Pattern: "/incidents", Perm: mamori.PermIncidentRead, Kind: P, Handler: s.modulePage(moduleByHref("/incidents"))},
		{Method: get, Pattern: "/third-parties", Perm: mamori.PermThirdPartyRead, Kind: P, Handler: s.modulePage(moduleByHref("/third-parties"))},
		{Method: get, Pattern: "/reports", Perm: mamori.PermReportRead, Kind: P, Handler: s.modulePage(moduleByHref("/reports"))},

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
	}
}
