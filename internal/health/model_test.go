package health

import (
	"testing"

	"github.com/tendhq/tend/internal/derrors"
)

func TestDefaultModelMatchesHandbook(t *testing.T) {
	t.Parallel()
	m := DefaultModel()
	if err := m.Validate(); err != nil {
		t.Fatalf("default model: %v", err)
	}
	// 004: TA Pulse 5%, Technical Health 5%, Relationships & Engagement 15%, Utilization 75%.
	want := []struct {
		name   string
		weight float64
		traits []string
	}{
		{"TA Pulse", 5, []string{"ta_pulse"}},
		{"Technical Health", 5, []string{"last_month_versions_behind", "precise_intel_status", "defect_tickets_90d", "help_tickets_90d"}},
		{"Relationships & Engagement", 15, []string{"active_champion", "access_to_buyer", "last_activity_date"}},
		{"Utilization", 75, []string{"usage_score", "last_month_mau_over_seats"}},
	}
	if len(m.Categories) != len(want) {
		t.Fatalf("%d categories, want %d", len(m.Categories), len(want))
	}
	for i, w := range want {
		c := m.Categories[i]
		if c.Name != w.name || c.Weight != w.weight || len(c.Metrics) != len(w.traits) {
			t.Errorf("category %d = %s %v with %d metrics, want %s %v with %d", i, c.Name, c.Weight, len(c.Metrics), w.name, w.weight, len(w.traits))
			continue
		}
		for j, tr := range w.traits {
			if c.Metrics[j].Trait != tr {
				t.Errorf("%s metric %d = %s, want %s", c.Name, j, c.Metrics[j].Trait, tr)
			}
		}
	}
	if m.Bands != (Bands{Green: 6.67, Yellow: 3.33}) {
		t.Errorf("bands %+v", m.Bands)
	}
	// A fresh copy each call: changing one does not change the next.
	m.Categories[0].Weight = 99
	if DefaultModel().Categories[0].Weight != 5 {
		t.Error("DefaultModel shares state between calls")
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		edit  func(*Model)
		field string
	}{
		{"no name", func(m *Model) { m.Name = "" }, "name"},
		{"no categories", func(m *Model) { m.Categories = nil }, "categories"},
		{"zero weight", func(m *Model) { m.Categories[1].Weight = 0 }, "categories[1].weight"},
		{"negative weight", func(m *Model) { m.Categories[1].Weight = -5 }, "categories[1].weight"},
		{"duplicate category", func(m *Model) { m.Categories[2].Name = "TA Pulse" }, "categories[2].name"},
		{"empty category", func(m *Model) { m.Categories[0].Metrics = nil }, "categories[0].metrics"},
		{"no trait", func(m *Model) { m.Categories[3].Metrics[0].Trait = "" }, "categories[3].metrics[0].trait"},
		{"bad kind", func(m *Model) { m.Categories[3].Metrics[0].Kind = "ratio" }, "categories[3].metrics[0].kind"},
		{"bad op", func(m *Model) { m.Categories[3].Metrics[0].Healthy.Op = "=>" }, "categories[3].metrics[0].healthy.op"},
		{"same direction", func(m *Model) { m.Categories[3].Metrics[0].Poor.Op = OpGE }, "categories[3].metrics[0].poor.op"},
		{"overlap", func(m *Model) { m.Categories[3].Metrics[0].Poor.Value = 0.4 }, "categories[3].metrics[0].poor.value"},
		{"overlap at the edge", func(m *Model) { m.Categories[3].Metrics[0].Poor.Value = 0.3 }, "categories[3].metrics[0].poor.value"},
		{"lower-better overlap", func(m *Model) { m.Categories[1].Metrics[2].Poor.Value = 1 }, "categories[1].metrics[2].poor.value"},
		{"bool value", func(m *Model) { m.Categories[2].Metrics[0].Healthy.Values = []string{"yes"} }, "categories[2].metrics[0].healthy.values"},
		{"no healthy value", func(m *Model) { m.Categories[0].Metrics[0].Healthy.Values = nil }, "categories[0].metrics[0].healthy.values"},
		{"value both", func(m *Model) { m.Categories[0].Metrics[0].Poor.Values = []string{"Poor", "Healthy"} }, "categories[0].metrics[0].poor.values"},
		{"bands reversed", func(m *Model) { m.Bands = Bands{Green: 3, Yellow: 6} }, "bands"},
		{"negative step", func(m *Model) { m.Categories[3].Metrics[0].Step = -1 }, "categories[3].metrics[0].step"},
	}
	for _, tc := range tests {
		m := DefaultModel()
		tc.edit(&m)
		err := m.Validate()
		var de *derrors.Error
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		de = derrors.Public(err)
		if derrors.CodeOf(err) != derrors.Invalid || de == nil || de.Field != tc.field {
			t.Errorf("%s: %v (field %q), want invalid %q", tc.name, err, fieldOf(de), tc.field)
		}
	}
	// Strict on one side, inclusive on the other, at one value is no overlap.
	m := DefaultModel()
	m.Categories[3].Metrics[0].Poor = Threshold{Op: OpLT, Value: 0.3}
	if err := m.Validate(); err != nil {
		t.Errorf("healthy ≥ 0.3, poor < 0.3: %v", err)
	}
}

func fieldOf(e *derrors.Error) string {
	if e == nil {
		return ""
	}
	return e.Field
}
