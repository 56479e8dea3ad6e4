package mail_test

import (
	"math"
	"testing"

	"github.com/daect/expectct/internal/mail"
)

func TestFormatEuros(t *testing.T) {
	cases := []struct {
		cents  int64
		fr, en string
	}{
		{0, "0,00 €", "EUR 0.00"},
		{5, "0,05 €", "EUR 0.05"},
		{99, "0,99 €", "EUR 0.99"},
		{100, "1,00 €", "EUR 1.00"},
		{123456, "1 234,56 €", "EUR 1,234.56"},
		{450000, "4 500,00 €", "EUR 4,500.00"},
		{99999, "999,99 €", "EUR 999.99"},
		{100000, "1 000,00 €", "EUR 1,000.00"},
		{123456789012, "1 234 567 890,12 €", "EUR 1,234,567,890.12"},
		{-450050, "-4 500,50 €", "EUR -4,500.50"},
		{math.MaxInt64, "92 233 720 368 547 758,07 €", "EUR 92,233,720,368,547,758.07"},
		{math.MinInt64, "-92 233 720 368 547 758,08 €", "EUR -92,233,720,368,547,758.08"},
	}
	for _, c := range cases {
		if got := mail.FormatEurosFR(c.cents); got != c.fr {
			t.Errorf("FormatEurosFR(%d) = %q, want %q", c.cents, got, c.fr)
		}
		if got := mail.FormatEurosEN(c.cents); got != c.en {
			t.Errorf("FormatEurosEN(%d) = %q, want %q", c.cents, got, c.en)
		}
	}
}
