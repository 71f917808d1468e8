package workspace

import (
	"reflect"

	"github.com/tendhq/tend/internal/lifecycle"
)

// LifecycleFile holds the segment, program and lifecycle rules.
const LifecycleFile = "lifecycle.yaml"

// lifecycle loads lifecycle.yaml. Every setting must be given: most of
// them have a zero that is valid (onboarding_days: 0 skips Onboarding), so
// a forgotten line would silently change how accounts are placed.
func (l *loader) lifecycle() lifecycle.Rules {
	root, file := l.root(LifecycleFile)
	if root == nil {
		return lifecycle.Rules{}
	}
	var r lifecycle.Rules
	if !l.decode(file, "", root, reflect.ValueOf(&r).Elem(), true) {
		return lifecycle.Rules{}
	}
	l.validated(file, root, r.Validate())
	return r
}
