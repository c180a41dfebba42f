module github.com/libvinfringe/vinfringe/bindings/go

go 1.19
