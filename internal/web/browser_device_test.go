package web_test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserDevice: in Chromium, a manager opens the device page, types
// the code the terminal shows, signs in, picks a merchant and allows on the
// consent page that repeats the code; the success page says to go back to
// the device, and the polling terminal gets a token for that merchant.
func TestBrowserDevice(t *testing.T) {
	s := newSite(t)
	da := startDevice(t, s)
	got := pollDevice(t, s, da)
	ctx := browser(t)
	run(t, ctx, chromedp.Navigate(s.base+"/device"),
		chromedp.WaitVisible(`form#device`, chromedp.ByQuery),
		chromedp.SendKeys(`form#device input[name=user_code]`, da.UserCode, chromedp.ByQuery))
	shot(t, ctx, "device")
	run(t, ctx, chromedp.Click(`form#device button[type=submit]`, chromedp.ByQuery),
		login(deviceUser, devicePass),
		chromedp.WaitVisible(`form#select-account`, chromedp.ByQuery),
		chromedp.Click(`input[name=resource_owner][value="`+deviceOwner+`"]`, chromedp.ByQuery),
		chromedp.Click(`form#select-account button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`form#consent`, chromedp.ByQuery))
	var warning, outcome string
	run(t, ctx, chromedp.Text(`#device-warning`, &warning, chromedp.ByQuery))
	if warning != deviceWarning+da.UserCode {
		t.Fatalf("consent warning %q", warning)
	}
	run(t, ctx, chromedp.Click(`form#consent button[name=decision][value=allow]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#device-outcome`, chromedp.ByQuery),
		chromedp.Text(`#device-outcome`, &outcome, chromedp.ByQuery))
	if outcome != "Device connected — you can return to your device." {
		t.Fatalf("outcome %q", outcome)
	}
	p := awaitPoll(t, got)
	if p.err != nil {
		t.Fatalf("the terminal: %v", p.err)
	}
	if in := introspect(t, s, p.tok.AccessToken); in["active"] != true || in["merchant_id"] != deviceOwner || in["client_id"] != deviceClient {
		t.Fatalf("introspection %v", in)
	}
}
