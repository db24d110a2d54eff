package web_test

import (
	"context"
	"strings"
	"testing"

	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/mamori-dev/mamori/internal/auth"
	"github.com/mamori-dev/mamori/internal/mamoritest"
	"github.com/mamori-dev/mamori/internal/store"
)

// TestPasskeyInRealBrowser drives Debian's Chromium with a virtual
// authenticator: sign in with password and TOTP, register a passkey, sign
// out, and sign in again with the passkey alone.
func TestPasskeyInRealBrowser(t *testing.T) {
	ctx := mamoritest.Chrome(t)
	e := mamoritest.NewEnv(t, store.SQLite)
	u := e.User("passkey@example.jp", true, auth.RoleSecurityManager)

	if _, err := chromedp.Call(ctx, cdpwebauthn.Enable, cdpwebauthn.EnableParams{}); err != nil {
		t.Fatalf("enable WebAuthn domain: %v", err)
	}
	va, err := chromedp.Call(ctx, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{
		Options: &cdpwebauthn.VirtualAuthenticatorOptions{
			Protocol: cdpwebauthn.AuthenticatorProtocolCtap2, Transport: cdpwebauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
		}})
	if err != nil {
		t.Fatalf("add virtual authenticator: %v", err)
	}
	defer chromedp.Call(ctx, cdpwebauthn.RemoveVirtualAuthenticator, cdpwebauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: va.AuthenticatorID})

	err = chromedp.Do(ctx,
		chromedp.Navigate(e.URL+"/sign-in"),
		chromedp.SendKeys(chromedp.CSS("#email"), u.Email),
		chromedp.SendKeys(chromedp.CSS("#password"), mamoritest.Password),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("#code")),
		chromedp.SendKeys(chromedp.CSS("#code"), e.Code()),
		chromedp.Submit(chromedp.CSS("#code")),
		chromedp.WaitVisible(chromedp.CSS(".cards")), // the dashboard
		chromedp.Navigate(e.URL+"/account/security"),
		chromedp.WaitVisible(chromedp.CSS("[data-webauthn=register] [data-webauthn-start]")),
		chromedp.SendKeys(chromedp.CSS("#passkey-name"), "テスト用パスキー"),
		chromedp.Click(chromedp.CSS("[data-webauthn=register] [data-webauthn-start]")),
		chromedp.WaitVisible(chromedp.Search(`//strong[text()="テスト用パスキー"]`)),
	)
	if err != nil {
		t.Fatalf("register a passkey: %v", err)
	}
	pks, err := e.DB.Passkeys(context.Background(), u.ID)
	if err != nil || len(pks) != 1 || pks[0].Name != "テスト用パスキー" {
		t.Fatalf("stored passkeys: %+v %v", pks, err)
	}

	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form[action="/sign-out"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.WaitVisible(chromedp.CSS("[data-webauthn=signin] [data-webauthn-start]")),
		chromedp.Click(chromedp.CSS("[data-webauthn=signin] [data-webauthn-start]")),
		chromedp.WaitVisible(chromedp.CSS(".cards")),
	)
	if err != nil {
		t.Fatalf("sign in with the passkey: %v", err)
	}
	h1, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h1, "ダッシュボード") {
		t.Errorf("after passkey sign-in the page says %q", h1)
	}
	hist, _, err := e.DB.SignInEvents(context.Background(), auth.SignInFilter{UserID: u.ID, Limit: 1})
	if err != nil || len(hist) != 1 || hist[0].Factor != auth.FactorPasskey || hist[0].Outcome != auth.OutcomeSuccess {
		t.Fatalf("last sign-in record: %+v %v", hist, err)
	}
}
