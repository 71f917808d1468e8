package account

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/derrors"
)

// Trait types.
const (
	TypeNumber = "number"
	TypeBool   = "bool"
	TypeText   = "text"
	TypeEnum   = "enum"
	TypeDate   = "date"
)

// TraitTypes lists the trait types.
var TraitTypes = []string{TypeNumber, TypeBool, TypeText, TypeEnum, TypeDate}

// Trait sources: where a trait's values come from.
const (
	SourceManual    = "manual"
	SourceCRM       = "crm"
	SourceWarehouse = "warehouse"
	SourceComputed  = "computed"
)

// TraitSources lists the trait sources.
var TraitSources = []string{SourceManual, SourceCRM, SourceWarehouse, SourceComputed}

// TraitDef defines a trait in the workspace.
type TraitDef struct {
	Key         string   `json:"key" yaml:"key"`
	Type        string   `json:"type" yaml:"type"`
	Label       string   `json:"label" yaml:"label"`
	Category    string   `json:"category" yaml:"category"`
	Source      string   `json:"source" yaml:"source"`
	Description string   `json:"description" yaml:"description"`
	Values      []string `json:"values,omitempty" yaml:"values"` // enum only
	Unit        string   `json:"unit,omitempty" yaml:"unit"`
}

// MaxTextTrait caps a text trait's length.
const MaxTextTrait = 4000

// Coerce converts v to the trait's canonical Go value: float64 for number,
// bool, string for text and enum, "YYYY-MM-DD" string for date. nil stays nil
// (the trait is cleared). Strings are parsed for the other types, so CSV
// cells work. The error names what was expected.
func (d TraitDef) Coerce(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if n, ok := v.(json.Number); ok {
		v = string(n)
	}
	s, isString := v.(string)
	if isString && strings.TrimSpace(s) == "" {
		return nil, nil
	}
	switch d.Type {
	case TypeNumber:
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case int:
			f = float64(x)
		case int64:
			f = float64(x)
		case string:
			p, err := strconv.ParseFloat(strings.TrimSpace(strings.ReplaceAll(x, ",", "")), 64)
			if err != nil {
				return nil, fmt.Errorf("%q is not a number", x)
			}
			f = p
		default:
			return nil, fmt.Errorf("%s is not a number", describe(v))
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%v is not a finite number", f)
		}
		return f, nil
	case TypeBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "true", "yes", "y", "1":
				return true, nil
			case "false", "no", "n", "0":
				return false, nil
			}
			return nil, fmt.Errorf("%q is not true or false", x)
		}
		return nil, fmt.Errorf("%s is not true or false", describe(v))
	case TypeText:
		if !isString {
			return nil, fmt.Errorf("%s is not text", describe(v))
		}
		if len(s) > MaxTextTrait {
			return nil, fmt.Errorf("text is longer than %d characters", MaxTextTrait)
		}
		return s, nil
	case TypeEnum:
		if !isString {
			return nil, fmt.Errorf("%s is not one of %s", describe(v), strings.Join(d.Values, ", "))
		}
		s = strings.TrimSpace(s)
		for _, allowed := range d.Values {
			if strings.EqualFold(allowed, s) {
				return allowed, nil
			}
		}
		return nil, fmt.Errorf("%q is not one of %s", s, strings.Join(d.Values, ", "))
	case TypeDate:
		if !isString {
			return nil, fmt.Errorf("%s is not a date (YYYY-MM-DD)", describe(v))
		}
		dd, err := date.Parse(s)
		if err != nil {
			return nil, err
		}
		return dd.String(), nil
	}
	return nil, fmt.Errorf("trait type %q is unknown", d.Type)
}

func describe(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}

// TraitValue is the current value of one trait on one account.
type TraitValue struct {
	AccountID int64     `json:"account_id"`
	Key       string    `json:"key"`
	Value     any       `json:"value"`
	Source    string    `json:"source"`
	UpdatedBy string    `json:"updated_by"`
	UpdatedAt time.Time `json:"updated_at"`
}

// TraitWrite sets (or, with a nil Value, clears) one trait on one account.
// Value must already be coerced by the trait's definition.
type TraitWrite struct {
	AccountID int64
	Key       string
	Value     any
}

// TraitChange is one entry of a trait's history.
type TraitChange struct {
	ID        int64     `json:"id"`
	AccountID int64     `json:"account_id"`
	Key       string    `json:"key"`
	Old       any       `json:"old"`
	New       any       `json:"new"`
	Source    string    `json:"source"`
	ActorID   *int64    `json:"actor_id"`
	Actor     string    `json:"actor"`
	At        time.Time `json:"at"`
}

// TraitDefs is the set of trait definitions a workspace declares.
type TraitDefs struct {
	list  []TraitDef
	byKey map[string]int
}

// NewTraitDefs indexes definitions by key; keys must be unique (the
// workspace loader reports duplicates with their lines first).
func NewTraitDefs(defs []TraitDef) *TraitDefs {
	t := &TraitDefs{list: defs, byKey: make(map[string]int, len(defs))}
	for i, d := range defs {
		t.byKey[d.Key] = i
	}
	return t
}

// All returns the definitions in the order the workspace lists them.
func (t *TraitDefs) All() []TraitDef { return t.list }

// Get returns the definition of key.
func (t *TraitDefs) Get(key string) (TraitDef, bool) {
	i, ok := t.byKey[key]
	if !ok {
		return TraitDef{}, false
	}
	return t.list[i], true
}

// Categories returns the trait categories in first-seen order.
func (t *TraitDefs) Categories() []string {
	var out []string
	for _, d := range t.list {
		if !slices.Contains(out, d.Category) {
			out = append(out, d.Category)
		}
	}
	return out
}

// Write validates and coerces one raw value for key on an account, with a
// field-named error for an unknown trait or a bad value.
func (t *TraitDefs) Write(accountID int64, key string, raw any) (TraitWrite, error) {
	d, ok := t.Get(key)
	if !ok {
		return TraitWrite{}, derrors.Field(derrors.Unprocessable, "traits."+key, "is not a trait this workspace defines")
	}
	v, err := d.Coerce(raw)
	if err != nil {
		return TraitWrite{}, derrors.Field(derrors.Unprocessable, "traits."+key, "%s: %s expected", err, d.Type)
	}
	return TraitWrite{AccountID: accountID, Key: key, Value: v}, nil
}

// FormatValue renders a canonical trait value for people.
func FormatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case bool:
		if x {
			return "Yes"
		}
		return "No"
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		return x
	}
	return describe(v)
}
