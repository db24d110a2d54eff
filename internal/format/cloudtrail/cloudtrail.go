// Package cloudtrail reads AWS CloudTrail console sign-in events
// (ConsoleLogin, CheckMfa, PasswordRecoveryRequested): a CloudTrail log
// file ({"Records":[…]}, one document per line as delivered) or one record
// per line (as exported from CloudWatch Logs or Athena). Other records are
// ignored.
package cloudtrail

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/mamori-dev/mamori/internal/detect"
)

// Parser reads CloudTrail lines; it keeps no state.
type Parser struct{}

// New returns a parser.
func New() *Parser { return &Parser{} }

type record struct {
	EventTime    string `json:"eventTime"`
	EventSource  string `json:"eventSource"`
	EventName    string `json:"eventName"`
	SourceIP     string `json:"sourceIPAddress"`
	UserAgent    string `json:"userAgent"`
	ErrorMessage string `json:"errorMessage"`
	Recipient    string `json:"recipientAccountId"`
	UserIdentity struct {
		Type     string `json:"type"`
		UserName string `json:"userName"`
		ARN      string `json:"arn"`
		Account  string `json:"accountId"`
	} `json:"userIdentity"`
	ResponseElements map[string]any `json:"responseElements"`
	AdditionalData   map[string]any `json:"additionalEventData"`
}

type document struct {
	Records []json.RawMessage `json:"Records"`
}

// Parse implements detect.Parser.
func (p *Parser) Parse(dst []detect.Event, line []byte) ([]detect.Event, error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return dst, nil
	}
	if bytes.Contains(line[:min(len(line), 64)], []byte(`"Records"`)) {
		var d document
		if err := json.Unmarshal(line, &d); err != nil {
			return dst, fmt.Errorf("malformed CloudTrail file: %w", err)
		}
		var firstErr error
		for i, r := range d.Records {
			var err error
			if dst, err = p.record(dst, r); err != nil && firstErr == nil {
				firstErr = fmt.Errorf("record %d: %w", i+1, err)
			}
		}
		return dst, firstErr
	}
	return p.record(dst, line)
}

func (p *Parser) record(dst []detect.Event, raw []byte) ([]detect.Event, error) {
	var r record
	if err := json.Unmarshal(raw, &r); err != nil {
		return dst, fmt.Errorf("malformed CloudTrail record: %w", err)
	}
	if r.EventSource != "signin.amazonaws.com" {
		return dst, nil
	}
	ev := detect.Event{Service: "aws-console", UserAgent: r.UserAgent}
	switch r.EventName {
	case "ConsoleLogin":
		ev.Action = detect.ActionLogin
	case "CheckMfa":
		ev.Action = detect.ActionMFA
	case "PasswordRecoveryRequested", "PasswordRecoveryCompleted":
		ev.Action = detect.ActionPasswordReset
	default:
		return dst, nil
	}
	t, err := time.Parse(time.RFC3339, r.EventTime)
	if err != nil {
		return dst, fmt.Errorf("malformed CloudTrail record: eventTime %q", r.EventTime)
	}
	ev.Time = t.UTC()
	result, _ := r.ResponseElements[r.EventName].(string)
	if result == "" {
		result, _ = r.ResponseElements["CheckMfa"].(string)
	}
	switch {
	case strings.EqualFold(result, "Success"):
		ev.Outcome = detect.OutcomeSuccess
	case strings.EqualFold(result, "Failure") || r.ErrorMessage != "":
		ev.Outcome = detect.OutcomeFailure
	default:
		ev.Outcome = detect.OutcomeUnknown
		if ev.Action == detect.ActionPasswordReset {
			ev.Outcome = detect.OutcomeSuccess
		}
	}
	switch {
	case strings.Contains(r.ErrorMessage, "No username found"):
		ev.Reason = detect.ReasonUnknownUser
	case strings.Contains(r.ErrorMessage, "Failed authentication"):
		ev.Reason = detect.ReasonBadPassword
	case ev.Action == detect.ActionMFA && ev.Outcome == detect.OutcomeFailure:
		ev.Reason = detect.ReasonMFAFailed
	case r.ErrorMessage != "":
		ev.Reason = detect.Reason(strings.ToLower(strings.ReplaceAll(r.ErrorMessage, " ", "_")))
	}
	switch {
	case r.UserIdentity.Type == "Root":
		acct := r.UserIdentity.Account
		if acct == "" {
			acct = r.Recipient
		}
		ev.User = "root@" + acct
	case r.UserIdentity.UserName != "" && r.UserIdentity.UserName != "HIDDEN_DUE_TO_SECURITY_REASONS":
		ev.User = r.UserIdentity.UserName
	case r.UserIdentity.ARN != "":
		ev.User = r.UserIdentity.ARN
	}
	if r.SourceIP != "" {
		if a, err := netip.ParseAddr(r.SourceIP); err == nil {
			ev.Source = a.Unmap()
		} else {
			ev.Domain = r.SourceIP // "AWS Internal" or a service name
		}
	}
	if ev.User == "" && !ev.Source.IsValid() && ev.Domain == "" {
		return dst, fmt.Errorf("malformed CloudTrail record: neither user nor source")
	}
	return append(dst, ev), nil
}

// Flush implements detect.Parser.
func (p *Parser) Flush(dst []detect.Event) []detect.Event { return dst }
