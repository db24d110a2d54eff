package cloudtrail

import (
	"fmt"
	"strings"
	"testing"
)

// Records in the shape AWS documents for console sign-in events (written
// for these tests; account numbers and addresses are examples).
const file = `{"Records":[` +
	`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDA","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","userName":"alice"},"eventTime":"2026-03-02T01:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.1","userAgent":"Mozilla/5.0","requestParameters":null,"responseElements":{"ConsoleLogin":"Failure"},"additionalEventData":{"MFAUsed":"No"},"errorMessage":"Failed authentication","eventType":"AwsConsoleSignIn","recipientAccountId":"111122223333"},` +
	`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","accountId":"111122223333","userName":"HIDDEN_DUE_TO_SECURITY_REASONS"},"eventTime":"2026-03-02T01:00:05Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","sourceIPAddress":"192.0.2.2","userAgent":"curl","responseElements":{"ConsoleLogin":"Failure"},"errorMessage":"No username found in supplied account","recipientAccountId":"111122223333"},` +
	`{"eventVersion":"1.08","userIdentity":{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"},"eventTime":"2026-03-02T01:00:10Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","sourceIPAddress":"2001:db8::1","userAgent":"Mozilla/5.0","responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"Yes"}},` +
	`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","userName":"bob"},"eventTime":"2026-03-02T01:00:15Z","eventSource":"signin.amazonaws.com","eventName":"CheckMfa","sourceIPAddress":"192.0.2.3","responseElements":{"CheckMfa":"Failure"}},` +
	`{"eventVersion":"1.08","eventTime":"2026-03-02T01:00:20Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","sourceIPAddress":"192.0.2.4"}` +
	`]}`

func TestParse(t *testing.T) {
	p := New()
	evs, err := p.Parse(nil, []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	single := `{"eventTime":"2026-03-02T01:00:25Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","sourceIPAddress":"AWS Internal","userIdentity":{"type":"IAMUser","userName":"carol"},"responseElements":{"ConsoleLogin":"Success"}}`
	if evs, err = p.Parse(evs, []byte(single)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, fmt.Sprintf("%s %s %s %s %s %s|%s", e.Time.Format("15:04:05"), e.Action, e.Outcome, e.Reason, e.User, e.Source, e.Domain))
	}
	want := []string{
		"01:00:00 login failure bad_password alice 192.0.2.1|",
		"01:00:05 login failure unknown_user  192.0.2.2|",
		"01:00:10 login success  root@111122223333 2001:db8::1|",
		"01:00:15 mfa failure mfa_failed bob 192.0.2.3|",
		"01:00:25 login success  carol invalid IP|AWS Internal",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, bad := range []string{`{"Records":[{"eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","eventTime":"yesterday"}]}`, `{"Records":`, `{"eventSource":1}`} {
		if _, err := p.Parse(nil, []byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(file))
	f.Add([]byte(`{"eventTime":"2026-03-02T01:00:25Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","sourceIPAddress":"192.0.2.9","userIdentity":{"userName":"x"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, _ := New().Parse(nil, b)
		for _, e := range evs {
			if e.Time.IsZero() || e.Outcome == "" {
				t.Fatalf("incomplete event %+v", e)
			}
		}
	})
}
