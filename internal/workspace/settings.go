package workspace

import (
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// SettingsFile holds the workspace-wide settings.
const SettingsFile = "settings.yaml"

// Usage metric sources (settings.yaml usage.metrics_source).
const (
	MetricsFromEvents    = "events"
	MetricsFromWarehouse = "warehouse"
)

// Settings are the workspace-wide settings (settings.yaml).
type Settings struct {
	// TimeZone is the IANA name of the team's time zone; Location is it
	// loaded. Usage days and months are counted in it.
	TimeZone string
	Location *time.Location
	Usage    UsageSettings
}

// UsageSettings say how product usage becomes metrics.
type UsageSettings struct {
	// MetricsSource is MetricsFromEvents or MetricsFromWarehouse: which
	// writes the computed usage traits.
	MetricsSource string
	// FeatureProperty, when set, names the event property whose value is
	// the feature; otherwise the event name is.
	FeatureProperty string
	// RetentionDays is how long raw events are kept.
	RetentionDays int
}

func (l *loader) settings() Settings {
	s := Settings{TimeZone: "UTC", Location: time.UTC,
		Usage: UsageSettings{MetricsSource: MetricsFromEvents, RetentionDays: 90}}
	root, file := l.root(SettingsFile)
	if root == nil {
		return s
	}
	l.mapping(file, root, map[string]func(*yaml.Node){
		"timezone": func(v *yaml.Node) {
			loc, err := time.LoadLocation(v.Value)
			if v.Kind != yaml.ScalarNode || v.Value == "" || err != nil {
				l.problem(file, v.Line, "timezone %q is not an IANA time zone name (like Europe/Berlin or UTC)", v.Value)
				return
			}
			s.TimeZone, s.Location = v.Value, loc
		},
		"usage": func(v *yaml.Node) {
			l.mapping(file, v, map[string]func(*yaml.Node){
				"metrics_source": func(v *yaml.Node) {
					if !slices.Contains([]string{MetricsFromEvents, MetricsFromWarehouse}, v.Value) {
						l.problem(file, v.Line, "usage.metrics_source %q is not one of events, warehouse", v.Value)
						return
					}
					s.Usage.MetricsSource = v.Value
				},
				"feature_property": func(v *yaml.Node) {
					if v.Kind != yaml.ScalarNode || strings.ContainsAny(v.Value, " \t") {
						l.problem(file, v.Line, "usage.feature_property must be a property name without spaces")
						return
					}
					s.Usage.FeatureProperty = v.Value
				},
				"retention_days": func(v *yaml.Node) {
					var n int
					if err := v.Decode(&n); err != nil || n < 1 || n > 3650 {
						l.problem(file, v.Line, "usage.retention_days %q must be a whole number of days from 1 to 3650", v.Value)
						return
					}
					s.Usage.RetentionDays = n
				},
			})
		},
	})
	return s
}

// mapping walks a mapping node, calling each key's handler and reporting
// keys that have none.
func (l *loader) mapping(file string, n *yaml.Node, handlers map[string]func(*yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		l.problem(file, n.Line, "must be a mapping of settings")
		return
	}
	var known []string
	for k := range handlers {
		known = append(known, k)
	}
	slices.Sort(known)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		h, ok := handlers[k.Value]
		if !ok {
			l.problem(file, k.Line, "unknown setting %q (want one of %s)", k.Value, strings.Join(known, ", "))
			continue
		}
		h(v)
	}
}

// UsageTraits are the computed traits the usage engine writes from product
// events. With usage.metrics_source: warehouse they become warehouse traits
// instead, so that a sync may set them and the engine leaves them alone.
var UsageTraits = []string{"usage_score", "last_month_mau_over_seats", "last_month_mau", "active_users_30d",
	"seat_utilization", "first_usage_ping"}
