package keycloak

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Event lines in the shapes Keycloak writes them (written for these tests).
var lines = []string{
	`{"time":1772413323004,"type":"LOGIN_ERROR","realmId":"bank","clientId":"netbank","userId":null,"ipAddress":"192.0.2.1","error":"user_not_found","details":{"auth_method":"openid-connect","username":"nobody"}}`,
	`{"time":1772413324000,"type":"LOGIN","realmId":"bank","clientId":"netbank","userId":"6f1c","ipAddress":"192.0.2.2","details":{"username":"alice"}}`,
	`[{"time":1772413325000,"type":"REGISTER_ERROR","realmId":"bank","ipAddress":"192.0.2.3","error":"username_in_use","details":{"username":"bob"}},{"time":1772413326000,"type":"CODE_TO_TOKEN","realmId":"bank","ipAddress":"192.0.2.3"}]`,
	`2026-03-02 10:02:07,123 WARN  [org.keycloak.events] (executor-thread-1) type=LOGIN_ERROR, realmId=bank, clientId=netbank, userId=null, ipAddress=192.0.2.4, error=invalid_user_credentials, auth_method=openid-connect, username=carol`,
	`{"timestamp":"2026-03-02T10:02:08.5+09:00","loggerName":"org.keycloak.events","message":"type=\"RESET_PASSWORD_ERROR\", realmId=\"bank\", clientId=\"netbank\", userId=\"null\", ipAddress=\"192.0.2.5\", error=\"user_not_found\", username=\"dave\""}`,
	`{"timestamp":"2026-03-02T10:02:09+09:00","loggerName":"io.quarkus","message":"Keycloak started"}`,
	`{"type":"LOGIN","realmId":"bank"}`,
	`{"time":1772413327000,"type":"LOGIN","ipAddress":"not-an-ip","details":{"username":"x"}}`,
}

func TestParse(t *testing.T) {
	p := New(time.FixedZone("JST", 9*3600))
	var got []string
	errs := 0
	for _, l := range lines {
		evs, err := p.Parse(nil, []byte(l))
		if err != nil {
			errs++
		}
		for _, e := range evs {
			got = append(got, fmt.Sprintf("%s %s %s %s %s %s %s", e.Time.Format(time.RFC3339), e.Action, e.Outcome, e.Reason, e.User, e.Source, e.Service))
		}
	}
	want := []string{
		"2026-03-02T01:02:03Z login failure unknown_user nobody 192.0.2.1 keycloak/bank",
		"2026-03-02T01:02:04Z login success  alice 192.0.2.2 keycloak/bank",
		"2026-03-02T01:02:05Z signup failure user_exists bob 192.0.2.3 keycloak/bank",
		"2026-03-02T01:02:07Z login failure bad_password carol 192.0.2.4 keycloak/bank",
		"2026-03-02T01:02:08Z password_reset failure unknown_user dave 192.0.2.5 keycloak/bank",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if errs != 2 {
		t.Errorf("%d malformed, want 2", errs)
	}
}

func FuzzParse(f *testing.F) {
	for _, l := range lines {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, _ := New(time.UTC).Parse(nil, b)
		for _, e := range evs {
			if e.Time.IsZero() || e.Action == "" {
				t.Fatalf("incomplete event %+v", e)
			}
		}
	})
}
