module github.com/libvinfringe/vinfringe/examples/go

go 1.19

require github.com/libvinfringe/vinfringe/bindings/go v0.0.0

// Build against the binding in this source tree (no download). A program outside the tree
// drops this line and requires a tagged version instead.
replace github.com/libvinfringe/vinfringe/bindings/go => ../../bindings/go
