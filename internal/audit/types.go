package audit

import "sort"

// Type is an event type: a dotted name that says what happened.
type Type string

// Definition documents an event type. Every type of every area is defined
// in this file, so the registry, its test and docs/audit-events.md are complete. Codes are stable: they never change
// when a type is renamed, and operators filter and alert on them. A code is
// "M" + a four-digit number (the first digit is the area) + I (information),
// W (warning: a failure or a refusal) or E (error).
type Definition struct {
	Type    Type
	Code    string
	Area    string
	Summary string
}

// Areas: 1 identity, 2 administration, 3 audit/keys/backup, 4 catalogs and
// assessments, 5 ledgers and SBOMs, 6 vulnerabilities, 7 detection,
// 8 incidents, 9 third parties and reports.
const (
	// Identity and sessions.
	SignInSucceeded      Type = "auth.sign_in.succeeded"
	SignInFailed         Type = "auth.sign_in.failed"
	SignOut              Type = "auth.sign_out"
	StepUpSucceeded      Type = "auth.step_up.succeeded"
	StepUpFailed         Type = "auth.step_up.failed"
	SessionRevoked       Type = "auth.session.revoked"
	PasswordChanged      Type = "auth.password.changed"
	PasswordResetRequest Type = "auth.password_reset.requested"
	PasswordResetDone    Type = "auth.password_reset.completed"
	PasswordResetForced  Type = "auth.password_reset.forced"
	TOTPEnrolled         Type = "auth.totp.enrolled"
	TOTPRemoved          Type = "auth.totp.removed"
	RecoveryCodesCreated Type = "auth.recovery_codes.created"
	RecoveryCodeUsed     Type = "auth.recovery_code.used"
	PasskeyAdded         Type = "auth.passkey.added"
	PasskeyRemoved       Type = "auth.passkey.removed"
	MFAReset             Type = "auth.mfa.reset"
	AccountLocked        Type = "auth.account.locked"
	AccountUnlocked      Type = "auth.account.unlocked"
	SourceThrottled      Type = "auth.source.throttled"
	TokenCreated         Type = "auth.token.created"
	TokenRevoked         Type = "auth.token.revoked"
	AccessDenied         Type = "auth.access.denied"

	// Administration of users and settings.
	UserCreated       Type = "user.created"
	UserInvited       Type = "user.invited"
	UserUpdated       Type = "user.updated"
	UserDisabled      Type = "user.disabled"
	UserEnabled       Type = "user.enabled"
	UserDeleted       Type = "user.deleted"
	UserAutoDisabled  Type = "user.auto_disabled"
	RoleGranted       Type = "user.role.granted"
	RoleRevoked       Type = "user.role.revoked"
	AccessReviewDone  Type = "user.access_review.recorded"
	SettingChanged    Type = "settings.changed"
	ApprovalRequested Type = "approval.requested"
	ApprovalApproved  Type = "approval.approved"
	ApprovalRejected  Type = "approval.rejected"
	ApprovalWithdrawn Type = "approval.withdrawn"
	ApprovalExpired   Type = "approval.expired"
	DataExported      Type = "data.exported"
	SchemaMigrated    Type = "system.schema.migrated"
	ServerStarted     Type = "system.server.started"

	// Catalogs, assessments and recurring obligations.
	CatalogImported        Type = "catalog.imported"
	CatalogDeleted         Type = "catalog.deleted"
	AssessmentCreated      Type = "assessment.created"
	AssessmentUpdated      Type = "assessment.updated"
	AssessmentSubmitted    Type = "assessment.submitted"
	AssessmentReturned     Type = "assessment.returned"
	AssessmentSignedOff    Type = "assessment.signed_off"
	AssessmentReopened     Type = "assessment.reopened"
	AssessmentImported     Type = "assessment.imported"
	AssessmentDeleted      Type = "assessment.deleted"
	ItemUpdated            Type = "assessment.item.updated"
	ItemReviewed           Type = "assessment.item.reviewed"
	ItemReopened           Type = "assessment.item.reopened"
	EvidenceAdded          Type = "assessment.evidence.added"
	EvidenceRemoved        Type = "assessment.evidence.removed"
	EvidenceRenewed        Type = "assessment.evidence.renewed"
	TaskCreated            Type = "assessment.task.created"
	TaskUpdated            Type = "assessment.task.updated"
	TaskCompleted          Type = "assessment.task.completed"
	TaskReopened           Type = "assessment.task.reopened"
	ObligationUpdated      Type = "obligation.updated"
	ObligationDone         Type = "obligation.done"
	ObligationReminderSent Type = "obligation.reminder.sent"
	// Audit trail, keys, files and backups.
	KEKRotated        Type = "keys.kek.rotated"
	KeysRewrapped     Type = "keys.rewrapped"
	FileStored        Type = "file.stored"
	BackupCreated     Type = "backup.created"
	BackupFailed      Type = "backup.failed"
	BackupRestored    Type = "backup.restored"
	BackupDrillPassed Type = "backup.drill.passed"
	BackupDrillFailed Type = "backup.drill.failed"
	CheckpointRefused Type = "audit.checkpoint.refused"
)

var definitions = []Definition{
	{SignInSucceeded, "M1000I", "identity", "A user signed in."},
	{SignInFailed, "M1000W", "identity", "A sign-in attempt failed."},
	{SignOut, "M1001I", "identity", "A user signed out."},
	{StepUpSucceeded, "M1002I", "identity", "A user re-authenticated for a sensitive action."},
	{StepUpFailed, "M1002W", "identity", "A re-authentication attempt failed."},
	{SessionRevoked, "M1003I", "identity", "A session was revoked."},
	{PasswordChanged, "M1004I", "identity", "A user changed their password."},
	{PasswordResetRequest, "M1005I", "identity", "A password reset was requested."},
	{PasswordResetDone, "M1006I", "identity", "A password was reset with a reset link."},
	{PasswordResetForced, "M1007I", "identity", "An administrator forced a password reset."},
	{TOTPEnrolled, "M1010I", "identity", "An authenticator app (TOTP) was enrolled."},
	{TOTPRemoved, "M1011I", "identity", "An authenticator app (TOTP) was removed."},
	{RecoveryCodesCreated, "M1012I", "identity", "New recovery codes were generated."},
	{RecoveryCodeUsed, "M1013I", "identity", "A recovery code was used to sign in."},
	{PasskeyAdded, "M1014I", "identity", "A passkey was registered."},
	{PasskeyRemoved, "M1015I", "identity", "A passkey was removed."},
	{MFAReset, "M1016I", "identity", "An administrator reset another user's multi-factor authentication."},
	{AccountLocked, "M1020W", "identity", "An account was temporarily locked after failed sign-ins."},
	{AccountUnlocked, "M1021I", "identity", "An administrator unlocked an account or source."},
	{SourceThrottled, "M1022W", "identity", "A source address was throttled after failed sign-ins."},
	{TokenCreated, "M1030I", "identity", "An API token was created."},
	{TokenRevoked, "M1031I", "identity", "An API token was revoked."},
	{AccessDenied, "M1040W", "identity", "A request was denied for lack of permission."},

	{UserCreated, "M2000I", "administration", "A user account was created."},
	{UserInvited, "M2001I", "administration", "A user was invited."},
	{UserUpdated, "M2002I", "administration", "A user account was changed."},
	{UserDisabled, "M2003I", "administration", "A user account was disabled."},
	{UserEnabled, "M2004I", "administration", "A user account was enabled again."},
	{UserDeleted, "M2005I", "administration", "A user account was deleted (the record of who existed is kept)."},
	{UserAutoDisabled, "M2006W", "administration", "A user account was disabled automatically (inactive or validity ended)."},
	{RoleGranted, "M2010I", "administration", "A role was granted to a user."},
	{RoleRevoked, "M2011I", "administration", "A role was taken from a user."},
	{AccessReviewDone, "M2020I", "administration", "An access review of all accounts was recorded."},
	{SettingChanged, "M2030I", "administration", "A setting was changed."},
	{ApprovalRequested, "M2040I", "administration", "An approval was requested."},
	{ApprovalApproved, "M2041I", "administration", "An approval request was approved."},
	{ApprovalRejected, "M2042I", "administration", "An approval request was rejected."},
	{ApprovalWithdrawn, "M2043I", "administration", "An approval request was withdrawn by its requester."},
	{ApprovalExpired, "M2044W", "administration", "An approved exception or acceptance expired."},
	{DataExported, "M2050I", "administration", "Data was exported."},
	{SchemaMigrated, "M2090I", "administration", "The database schema was migrated."},
	{ServerStarted, "M2091I", "administration", "The server started."},

	{CatalogImported, "M4000I", "assessment", "A control catalog was imported."},
	{CatalogDeleted, "M4001I", "assessment", "An imported control catalog was deleted."},
	{AssessmentCreated, "M4010I", "assessment", "An assessment was created."},
	{AssessmentUpdated, "M4011I", "assessment", "An assessment's title, scope, period or conditions were changed."},
	{AssessmentSubmitted, "M4012I", "assessment", "An assessment was submitted for second-line review."},
	{AssessmentReturned, "M4013I", "assessment", "A reviewer returned an assessment for rework."},
	{AssessmentSignedOff, "M4014I", "assessment", "A reviewer signed off an assessment."},
	{AssessmentReopened, "M4015I", "assessment", "A signed-off assessment was reopened."},
	{AssessmentImported, "M4016I", "assessment", "An assessment workbook was imported."},
	{AssessmentDeleted, "M4017I", "assessment", "An assessment was deleted."},
	{ItemUpdated, "M4020I", "assessment", "An assessment item's answer was changed."},
	{ItemReviewed, "M4021I", "assessment", "A reviewer recorded a second-line review of an assessment item."},
	{ItemReopened, "M4022W", "assessment", "An item's risk acceptance or exclusion lapsed and the item is open again."},
	{EvidenceAdded, "M4030I", "assessment", "Evidence was attached to an assessment item."},
	{EvidenceRemoved, "M4031I", "assessment", "Evidence was removed from an assessment item."},
	{EvidenceRenewed, "M4032I", "assessment", "Evidence was confirmed as current and re-dated."},
	{TaskCreated, "M4040I", "assessment", "A remediation task was created."},
	{TaskUpdated, "M4041I", "assessment", "A remediation task was changed or reassigned."},
	{TaskCompleted, "M4042I", "assessment", "A remediation task was completed."},
	{TaskReopened, "M4043I", "assessment", "A completed remediation task was reopened."},
	{ObligationUpdated, "M4050I", "assessment", "A recurring obligation's owner or interval was changed."},
	{ObligationDone, "M4051I", "assessment", "A recurring obligation was recorded as performed."},
	{ObligationReminderSent, "M4052I", "assessment", "A reminder of a due or overdue deadline was sent."},
	{CheckpointRefused, "M3001E", "trust", "mamori refused to sign an audit checkpoint because the stored tree no longer extends the last signed one."},
	{KEKRotated, "M3010I", "trust", "A new key-encryption key version was added and made primary."},
	{KeysRewrapped, "M3011I", "trust", "The data keys of encrypted fields were re-wrapped under the primary key-encryption key."},
	{FileStored, "M3020I", "trust", "An evidence or attachment file was stored (its SHA-256 is recorded)."},
	{BackupCreated, "M3030I", "trust", "A backup was created."},
	{BackupFailed, "M3030W", "trust", "A backup could not be created."},
	{BackupRestored, "M3031I", "trust", "A backup was restored into this database."},
	{BackupDrillPassed, "M3032I", "trust", "A backup was verified and test-restored, and the restored audit trail verified."},
	{BackupDrillFailed, "M3032W", "trust", "A backup failed its verification or its test restore."},
}

var registry = func() map[Type]Definition {
	m := make(map[Type]Definition, len(definitions))
	for _, d := range definitions {
		m[d.Type] = d
	}
	return m
}()

// Lookup returns the definition of t.
func Lookup(t Type) (Definition, bool) {
	d, ok := registry[t]
	return d, ok
}

// Definitions returns every registered event type, ordered by code.
func Definitions() []Definition {
	out := make([]Definition, 0, len(registry))
	for _, d := range registry {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}
