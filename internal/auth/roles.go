package auth

import (
	"sort"

	"github.com/mamori-dev/mamori"
)

// Role is a named set of permissions. Roles are data: this table is shown in
// the UI and written to docs/authz-matrix.md by the authorization test.
type Role struct {
	ID          string
	NameJA      string
	NameEN      string
	Description string // English; the UI translates it
	Perms       []mamori.Permission
}

// Role identifiers.
const (
	RoleAdmin           = "admin"
	RoleSecurityManager = "security_manager"
	RoleSystemOwner     = "system_owner"
	RoleRiskManager     = "risk_manager"
	RoleAuditor         = "auditor"
	RoleExecutive       = "executive"
	RoleViewer          = "viewer"
)

// readAll is what every security role may read.
var readAll = []mamori.Permission{
	mamori.PermDashboardRead, mamori.PermCatalogRead, mamori.PermAssessmentRead, mamori.PermAssetRead,
	mamori.PermVulnRead, mamori.PermDetectRead, mamori.PermIncidentRead, mamori.PermThirdPartyRead,
	mamori.PermReportRead,
}

func with(base []mamori.Permission, more ...mamori.Permission) []mamori.Permission {
	return append(append([]mamori.Permission(nil), base...), more...)
}

// roles is THE role → permission table.
var roles = []Role{
	{RoleAdmin, "管理者", "Administrator",
		"Manages users, roles, settings and backups. Sees no security data beyond the dashboard.",
		[]mamori.Permission{mamori.PermDashboardRead, mamori.PermUserManage, mamori.PermSettingsManage,
			mamori.PermBackupManage, mamori.PermPersonalRead, mamori.PermMetricsRead, mamori.PermSignInRead,
			mamori.PermAccessReview}},
	{RoleSecurityManager, "セキュリティ管理者（CISO室）", "Security manager (CISO office)",
		"Reads and changes all security data: assessments, ledgers, vulnerabilities, detection, incidents, third parties and reports.",
		with(readAll, mamori.PermCatalogManage, mamori.PermAssessmentWrite, mamori.PermAssetWrite,
			mamori.PermVulnWrite, mamori.PermAdvisoryManage, mamori.PermDetectWrite, mamori.PermDetectManage,
			mamori.PermIncidentWrite, mamori.PermThirdPartyWrite, mamori.PermReportWrite, mamori.PermPersonalRead)},
	{RoleSystemOwner, "システム所管者", "System owner",
		"Maintains the ledgers and findings of the systems they own and answers assessment items assigned to them.",
		with(readAll, mamori.PermAssessmentWrite, mamori.PermAssetWrite, mamori.PermVulnWrite, mamori.PermPersonalRead)},
	{RoleRiskManager, "リスク管理部門（第2線）", "Risk management (2nd line)",
		"Reviews and signs off assessments and approves risk acceptances and exceptions requested by others.",
		with(readAll, mamori.PermAssessmentReview, mamori.PermRiskApprove, mamori.PermPersonalRead)},
	{RoleAuditor, "内部監査（第3線）", "Internal audit (3rd line)",
		"Reads everything, including the audit trail and sign-in history, and changes nothing.",
		with(readAll, mamori.PermAuditRead, mamori.PermSignInRead, mamori.PermPersonalRead)},
	{RoleExecutive, "経営陣", "Executive",
		"Reads the dashboard and management reports and approves risk acceptances as management.",
		[]mamori.Permission{mamori.PermDashboardRead, mamori.PermReportRead, mamori.PermRiskApprove}},
	{RoleViewer, "閲覧者（個人情報閲覧不可）", "Viewer (no personal data)",
		"Reads security data with personal data (names, e-mail addresses, contacts) masked.",
		readAll},
}

// Roles returns the role table.
func Roles() []Role { return append([]Role(nil), roles...) }

// RoleByID returns a role.
func RoleByID(id string) (Role, bool) {
	for _, r := range roles {
		if r.ID == id {
			return r, true
		}
	}
	return Role{}, false
}

// PermsOf returns the union of the roles' permissions.
func PermsOf(roleIDs []string) map[mamori.Permission]bool {
	out := map[mamori.Permission]bool{}
	for _, id := range roleIDs {
		if r, ok := RoleByID(id); ok {
			for _, p := range r.Perms {
				out[p] = true
			}
		}
	}
	return out
}

// NeedsMFA reports whether a user with these roles must use multi-factor
// authentication: every role that can change data must; with the setting
// "all", everyone must.
func NeedsMFA(roleIDs []string, all bool) bool {
	if all {
		return true
	}
	for p := range PermsOf(roleIDs) {
		if p.Writes() {
			return true
		}
	}
	return false
}

// SortRoles orders role IDs as the table does.
func SortRoles(ids []string) {
	rank := map[string]int{}
	for i, r := range roles {
		rank[r.ID] = i
	}
	sort.Slice(ids, func(i, j int) bool { return rank[ids[i]] < rank[ids[j]] })
}
