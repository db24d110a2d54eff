// Package i18n translates mamori's user-facing text. The English text is the
// message key (as in gettext): code and templates say what they mean in
// English, and the Japanese catalog maps each such text to Japanese. A
// missing translation falls back to English; a test lists every missing one.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"strings"

	"golang.org/x/text/language"
)

// Lang is a supported language.
type Lang string

const (
	Japanese Lang = "ja"
	English  Lang = "en"
)

// Default is the language of a user who states no preference.
const Default = Japanese

// Langs lists the supported languages, the default first.
var Langs = []Lang{Japanese, English}

//go:embed ja.json
var catalogFS embed.FS

var catalogs = func() map[Lang]map[string]string {
	b, err := catalogFS.ReadFile("ja.json")
	if err != nil {
		panic(err)
	}
	var ja map[string]string
	if err := json.Unmarshal(b, &ja); err != nil {
		panic("i18n: ja.json: " + err.Error())
	}
	return map[Lang]map[string]string{Japanese: ja}
}()

var matcher = language.NewMatcher([]language.Tag{language.Japanese, language.English})

// Parse returns the supported language named by s, and whether it was one.
func Parse(s string) (Lang, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "ja", "ja-jp", "japanese", "日本語":
		return Japanese, true
	case "en", "en-us", "en-gb", "english":
		return English, true
	}
	return "", false
}

// Negotiate picks the language: the user's setting if any, else the best
// match of the Accept-Language header, else Japanese.
func Negotiate(setting, acceptLanguage string) Lang {
	if l, ok := Parse(setting); ok {
		return l
	}
	if acceptLanguage == "" {
		return Default
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return Default
	}
	_, idx, conf := matcher.Match(tags...)
	if conf == language.No {
		return Default
	}
	if idx == 1 {
		return English
	}
	return Japanese
}

// T translates key into l and formats it with args (fmt verbs).
func T(l Lang, key string, args ...any) string {
	s := key
	if c := catalogs[l]; c != nil {
		if v, ok := c[key]; ok && v != "" {
			s = v
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// Has reports whether key has a translation into l (English always has).
func Has(l Lang, key string) bool {
	if l == English {
		return true
	}
	_, ok := catalogs[l][key]
	return ok
}

// Keys returns the keys of l's catalog.
func Keys(l Lang) []string {
	out := make([]string, 0, len(catalogs[l]))
	for k := range catalogs[l] {
		out = append(out, k)
	}
	return out
}

// Name is the language's own name, for the language switch.
func (l Lang) Name() string {
	if l == English {
		return "English"
	}
	return "日本語"
}
