package mamori

import "sort"

// Permission names one thing a route or service call needs. Every route in
// the route table carries exactly one; roles are sets of permissions.
type Permission string

const (
	// Public routes need no sign-in (sign-in page, health, static files).
	Public Permission = "public"
	// Authenticated routes need any signed-in user (own profile, own sessions,
	// MFA enrolment) and nothing more.
	Authenticated Permission = "authenticated"

	PermDashboardRead Permission = "dashboard.read"

	PermCatalogRead      Permission = "catalog.read"
	PermCatalogManage    Permission = "catalog.manage" // import catalogs and mappings
	PermAssessmentRead   Permission = "assessment.read"
	PermAssessmentWrite  Permission = "assessment.write"
	PermAssessmentReview Permission = "assessment.review" // second-line review and sign-off

	PermAssetRead  Permission = "asset.read"
	PermAssetWrite Permission = "asset.write"

	PermVulnRead       Permission = "vuln.read"
	PermVulnWrite      Permission = "vuln.write"
	PermAdvisoryManage Permission = "advisory.manage" // import and schedule advisory feeds

	PermDetectRead   Permission = "detect.read"
	PermDetectWrite  Permission = "detect.write"  // triage alerts, block sources
	PermDetectManage Permission = "detect.manage" // thresholds, decoys, rules
	PermEventIngest  Permission = "event.ingest"  // send sign-in events (API tokens of collectors)

	PermIncidentRead  Permission = "incident.read"
	PermIncidentWrite Permission = "incident.write"

	PermThirdPartyRead  Permission = "thirdparty.read"
	PermThirdPartyWrite Permission = "thirdparty.write"

	PermReportRead  Permission = "report.read"
	PermReportWrite Permission = "report.write"

	// PermRiskApprove approves risk acceptances, exceptions and exclusions
	// (never one's own request: see the separation-of-duties rule).
	PermRiskApprove Permission = "risk.approve"

	PermAuditRead Permission = "audit.read"
	// PermSignInRead reads everyone's sign-in history (administrators and
	// auditors; each user always sees their own).
	PermSignInRead Permission = "signin.read"
	// PermAccessReview records the periodic review of all accounts.
	PermAccessReview Permission = "access.review"

	PermUserManage     Permission = "user.manage"
	PermSettingsManage Permission = "settings.manage"
	PermBackupManage   Permission = "backup.manage"

	// PermPersonalRead allows seeing personal data (names, e-mail addresses,
	// phone numbers of people). Without it such values are masked.
	PermPersonalRead Permission = "personal.read"

	PermMetricsRead Permission = "metrics.read"
)

// AllPermissions lists every permission except Public and Authenticated,
// sorted. Tests use it to prove that every permission is granted somewhere.
func AllPermissions() []Permission {
	p := []Permission{
		PermDashboardRead,
		PermCatalogRead, PermCatalogManage, PermAssessmentRead, PermAssessmentWrite, PermAssessmentReview,
		PermAssetRead, PermAssetWrite,
		PermVulnRead, PermVulnWrite, PermAdvisoryManage,
		PermDetectRead, PermDetectWrite, PermDetectManage, PermEventIngest,
		PermIncidentRead, PermIncidentWrite,
		PermThirdPartyRead, PermThirdPartyWrite,
		PermReportRead, PermReportWrite,
		PermRiskApprove, PermAuditRead, PermSignInRead, PermAccessReview,
		PermUserManage, PermSettingsManage, PermBackupManage,
		PermPersonalRead, PermMetricsRead,
	}
	sort.Slice(p, func(i, j int) bool { return p[i] < p[j] })
	return p
}

// Writes reports whether p lets its holder change data. Roles holding any
// such permission must use multi-factor authentication.
func (p Permission) Writes() bool {
	switch p {
	case Public, Authenticated, PermDashboardRead, PermCatalogRead, PermAssessmentRead, PermAssetRead,
		PermVulnRead, PermDetectRead, PermIncidentRead, PermThirdPartyRead, PermReportRead,
		PermAuditRead, PermSignInRead, PermPersonalRead, PermMetricsRead:
		return false
	}
	return true
}
