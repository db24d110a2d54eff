package control

import (
	"fmt"
	"strconv"
	"strings"
)

// Frequency is how often an item must be performed, as the source states
// it. Every holds a stated minimum interval ("at least once a year" is P1Y);
// Periodic means "periodically" with the interval left to the institution;
// On lists the events that also require it.
type Frequency struct {
	Every      Interval  `json:"every,omitzero"`
	Periodic   bool      `json:"periodic,omitempty"`
	Continuous bool      `json:"continuous,omitempty"`
	On         []Trigger `json:"on,omitempty"`
}

// Unit is the unit of an Interval.
type Unit byte

const (
	Day   Unit = 'D'
	Week  Unit = 'W'
	Month Unit = 'M'
	Year  Unit = 'Y'
)

// Interval is a calendar interval written as an ISO 8601 duration with one
// unit: P1Y (yearly), P6M (twice a year), P3M, P2W, P30D.
type Interval struct {
	N    int
	Unit Unit
}

// Yearly and HalfYearly are the two intervals the FSA guideline states.
var (
	Yearly     = Interval{1, Year}
	HalfYearly = Interval{6, Month}
)

// IsZero reports whether no interval is set.
func (iv Interval) IsZero() bool { return iv.N == 0 }

func (iv Interval) String() string {
	if iv.IsZero() {
		return ""
	}
	return "P" + strconv.Itoa(iv.N) + string(iv.Unit)
}

// ParseInterval parses "P1Y", "P6M", "P2W" or "P30D".
func ParseInterval(s string) (Interval, error) {
	bad := fmt.Errorf("interval %q must be an ISO 8601 duration with one unit, like P1Y, P6M, P2W or P30D", s)
	if len(s) < 3 || len(s) > 6 || s[0] != 'P' {
		return Interval{}, bad
	}
	u := Unit(s[len(s)-1])
	switch u {
	case Day, Week, Month, Year:
	default:
		return Interval{}, bad
	}
	n, err := strconv.Atoi(s[1 : len(s)-1])
	if err != nil || n <= 0 || strings.HasPrefix(s[1:], "0") || strings.ContainsAny(s[1:len(s)-1], "+-") {
		return Interval{}, bad
	}
	return Interval{N: n, Unit: u}, nil
}

func (iv Interval) MarshalText() ([]byte, error) { return []byte(iv.String()), nil }

func (iv *Interval) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*iv = Interval{}
		return nil
	}
	v, err := ParseInterval(string(b))
	if err != nil {
		return err
	}
	*iv = v
	return nil
}

// UnmarshalYAML reads an interval from YAML. go-yaml would otherwise use
// UnmarshalText through a slow re-formatting of the node (it made loading
// the shipped catalogs three times slower).
func (iv *Interval) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	return iv.UnmarshalText([]byte(s))
}

// approxDays orders intervals: a month counts 30.44 days, a year 365.25.
func (iv Interval) approxDays() float64 {
	switch iv.Unit {
	case Day:
		return float64(iv.N)
	case Week:
		return float64(7 * iv.N)
	case Month:
		return 30.44 * float64(iv.N)
	case Year:
		return 365.25 * float64(iv.N)
	}
	return 0
}

// Longer reports whether iv is a longer interval than o.
func (iv Interval) Longer(o Interval) bool { return iv.approxDays() > o.approxDays() }

// Trigger is an event that requires an item to be (re)performed.
type Trigger string

const (
	OnSignificantChange  Trigger = "significant-change"  // 重要な変更（内外環境・組織・システム）
	OnNewService         Trigger = "new-service"         // 新商品・新サービスの導入、DX
	OnEmergingThreat     Trigger = "emerging-threat"     // 重大な脅威・脆弱性の判明
	OnConfigChange       Trigger = "config-change"       // 設定・ルールの変更
	OnHighSeverityVuln   Trigger = "high-severity-vuln"  // 深刻度の高い脆弱性
	OnSignificantFinding Trigger = "significant-finding" // 重要な指摘・結果
	OnIncident           Trigger = "incident"            // インシデントの発生
	OnPreRelease         Trigger = "pre-release"         // リリース前
	OnOnboarding         Trigger = "onboarding"          // 委託開始・契約締結前
	OnOffboarding        Trigger = "offboarding"         // 委託終了・契約終了
	OnEndOfSupport       Trigger = "end-of-support"      // サポート終了（EOS）
	OnEndOfUse           Trigger = "end-of-use"          // サービス利用終了
	OnAsNeeded           Trigger = "as-needed"           // 必要に応じて
)

// Triggers lists the valid triggers with their labels (ja, en).
var Triggers = map[Trigger]Text{
	OnSignificantChange:  {"ja": "重要な変更時", "en": "on significant change"},
	OnNewService:         {"ja": "新商品・新サービス導入時", "en": "on a new product or service"},
	OnEmergingThreat:     {"ja": "重大な脅威・脆弱性の判明時", "en": "when a serious threat or vulnerability emerges"},
	OnConfigChange:       {"ja": "設定変更時", "en": "on configuration change"},
	OnHighSeverityVuln:   {"ja": "深刻度の高い脆弱性の判明時", "en": "on a high-severity vulnerability"},
	OnSignificantFinding: {"ja": "重要な指摘・結果の判明時", "en": "on a significant finding"},
	OnIncident:           {"ja": "インシデント発生時", "en": "on an incident"},
	OnPreRelease:         {"ja": "リリース前", "en": "before release"},
	OnOnboarding:         {"ja": "契約締結前", "en": "before onboarding"},
	OnOffboarding:        {"ja": "契約終了時", "en": "at offboarding"},
	OnEndOfSupport:       {"ja": "サポート終了時", "en": "at end of support"},
	OnEndOfUse:           {"ja": "利用終了時", "en": "at end of use"},
	OnAsNeeded:           {"ja": "必要に応じて", "en": "as needed"},
}

// Describe renders the frequency for people, e.g. "年1回以上、重要な変更時".
func (f *Frequency) Describe(lang string) string {
	if f == nil {
		return ""
	}
	var parts []string
	if !f.Every.IsZero() {
		parts = append(parts, describeInterval(f.Every, lang))
	}
	if f.Periodic {
		parts = append(parts, Text{"ja": "定期的", "en": "periodically"}.Get(lang))
	}
	if f.Continuous {
		parts = append(parts, Text{"ja": "継続的", "en": "continuously"}.Get(lang))
	}
	for _, t := range f.On {
		parts = append(parts, Triggers[t].Get(lang))
	}
	sep := ", "
	if lang == "ja" {
		sep = "、"
	}
	return strings.Join(parts, sep)
}

func describeInterval(iv Interval, lang string) string {
	switch {
	case iv == Yearly:
		return Text{"ja": "年1回以上", "en": "at least once a year"}.Get(lang)
	case iv == HalfYearly:
		return Text{"ja": "年2回以上", "en": "at least twice a year"}.Get(lang)
	}
	units := map[Unit][2]string{Day: {"日", "days"}, Week: {"週間", "weeks"}, Month: {"か月", "months"}, Year: {"年", "years"}}
	u := units[iv.Unit]
	if lang == "ja" {
		return fmt.Sprintf("%d%sごと", iv.N, u[0])
	}
	return fmt.Sprintf("every %d %s", iv.N, u[1])
}
