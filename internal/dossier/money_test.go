package dossier

import (
	"encoding/json"
	"testing"
)

func TestParseMoney(t *testing.T) {
	tests := []struct {
		in   string
		want Money
		ok   bool
	}{
		{"0", 0, true},
		{"12", 1200, true},
		{"12.5", 1250, true},
		{"12.50", 1250, true},
		{"0.01", 1, true},
		{"0.10", 10, true},
		{"-3.2", -320, true},
		{" 7 ", 700, true},
		{"9999999999999.99", 999999999999999, true},
		{"12.345", 0, false}, // a third decimal is refused, never rounded
		{"0.001", 0, false},
		{"1e3", 0, false},
		{"1E3", 0, false},
		{"12.", 0, false},
		{".5", 0, false},
		{"1,5", 0, false},
		{"+1", 0, false},
		{"--1", 0, false},
		{"", 0, false},
		{"null", 0, false},
		{"NaN", 0, false},
		{"10000000000000", 0, false}, // 14 digits of euros: beyond any budget
		{"99999999999999999999", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseMoney(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseMoney(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// Amounts that floats cannot hold exactly add up to the cent.
func TestMoneyExact(t *testing.T) {
	var b struct{ A, B Money }
	if err := json.Unmarshal([]byte(`{"A": 0.1, "B": "0.2"}`), &b); err != nil {
		t.Fatal(err)
	}
	if b.A+b.B != 30 {
		t.Errorf("0.1 + 0.2 = %d cents, want 30", b.A+b.B)
	}
	var big Money
	if err := json.Unmarshal([]byte(`9007199254740.93`), &big); err != nil || big != 900719925474093 {
		t.Errorf("beyond float64 precision: %d, %v", big, err)
	}
	if err := json.Unmarshal([]byte(`"12.345"`), &big); err == nil {
		t.Error(`"12.345" accepted`)
	}
	out, _ := json.Marshal(struct{ M Money }{Euros(1234) + 5})
	if string(out) != `{"M":1234.05}` {
		t.Errorf("Marshal = %s", out)
	}
}

func TestMoneyMessages(t *testing.T) {
	tests := []struct {
		m      Money
		fr, en string
	}{
		{0, "0 €", "€0"},
		{Euros(5000), "5 000 €", "€5,000"},
		{123456789, "1 234 567,89 €", "€1,234,567.89"},
		{Euros(999), "999 €", "€999"},
		{50, "0,50 €", "€0.50"},
		{-Euros(1000), "-1 000 €", "€-1,000"},
	}
	for _, tt := range tests {
		if got := frEuros(tt.m); got != tt.fr {
			t.Errorf("frEuros(%d) = %q, want %q", tt.m, got, tt.fr)
		}
		if got := enEuros(tt.m); got != tt.en {
			t.Errorf("enEuros(%d) = %q, want %q", tt.m, got, tt.en)
		}
	}
}

func TestPercentOf(t *testing.T) {
	tests := []struct {
		m    Money
		pct  int
		want Money
	}{
		{Euros(4800), 70, Euros(3360)},
		{480001, 90, 432000}, // 4320.009 rounds down to the cent
		{99, 70, 69},
		{Money(1<<63 - 1), 100, Money(1<<63 - 1)}, // no overflow
		{Money(1<<63 - 1), 90, Money((1<<63-1)/100*90 + 7*90/100)},
	}
	for _, tt := range tests {
		if got := percentOf(tt.m, tt.pct); got != tt.want {
			t.Errorf("percentOf(%d, %d) = %d, want %d", tt.m, tt.pct, got, tt.want)
		}
	}
	if got := addMoney(Money(1<<63-1), 1); got != Money(1<<63-1) {
		t.Errorf("addMoney wrapped: %d", got)
	}
}
