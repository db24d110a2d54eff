package mamori_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/mamori-dev/mamori"
)

func TestLocalizeTranslatesTheFormat(t *testing.T) {
	ja := map[string]string{"The file is larger than %d MB.": "ファイルが %d MB を超えています。", "An internal error occurred.": "内部エラーが発生しました。"}
	tr := func(f string, a ...any) string {
		if j, ok := ja[f]; ok {
			f = j
		}
		return fmt.Sprintf(f, a...)
	}
	err := fmt.Errorf("upload: %w", mamori.Errorf(mamori.ETOOLARGE, "The file is larger than %d MB.", 64))
	if got := mamori.Localize(err, tr); got != "ファイルが 64 MB を超えています。" {
		t.Errorf("got %q", got)
	}
	if got := mamori.Localize(errors.New("disk on fire at /var/lib"), tr); got != "内部エラーが発生しました。" {
		t.Errorf("internal error leaked: %q", got)
	}
	if mamori.ErrorMessage(err) != "The file is larger than 64 MB." {
		t.Errorf("English message: %q", mamori.ErrorMessage(err))
	}
}
