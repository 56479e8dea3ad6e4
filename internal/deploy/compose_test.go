package deploy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// The one-shot jobs: they run to completion and exit, so they carry no
// healthcheck and must not restart forever. Every other service runs for
// good and must report its health.
var jobs = map[string]bool{
	"temporal-schema":    true,
	"temporal-namespace": true,
	"migrate":            true,
}

// The services the stack cannot do without.
var requiredServices = []struct {
	name string
	why  string
}{
	{"postgres", "our database and Temporal's"},
	{"temporal-schema", "creates and upgrades Temporal's schemas"},
	{"temporal", "the Temporal server"},
	{"temporal-namespace", "creates the expectct namespace and its search attributes"},
	{"temporal-ui", "Temporal's web UI"},
	{"mailpit", "catches the e-mails the stack sends"},
	{"migrate", "applies our database migrations"},
	{"api", "our HTTP API"},
	{"worker", "our Temporal worker"},
}

const (
	healthy   = "service_healthy"
	completed = "service_completed_successfully"
)

// The start order: nothing starts before what it needs.
var requiredDependencies = []struct {
	from, to, condition string
}{
	{"temporal-schema", "postgres", healthy},
	{"temporal", "temporal-schema", completed},
	{"temporal-namespace", "temporal", healthy},
	{"temporal-ui", "temporal", healthy},
	{"migrate", "postgres", healthy},
	{"api", "migrate", completed},
	{"api", "temporal-namespace", completed},
	{"worker", "migrate", completed},
	{"worker", "temporal-namespace", completed},
	{"worker", "mailpit", healthy},
}

type composeFile struct {
	Services map[string]service `yaml:"services"`
}

type service struct {
	Image         string       `yaml:"image"`
	Build         any          `yaml:"build"`
	ContainerName string       `yaml:"container_name"`
	Ports         []any        `yaml:"ports"`
	Restart       string       `yaml:"restart"`
	Healthcheck   *healthcheck `yaml:"healthcheck"`
	DependsOn     yaml.Node    `yaml:"depends_on"`
	Volumes       []any        `yaml:"volumes"`
}

type healthcheck struct {
	Test    any  `yaml:"test"`
	Disable bool `yaml:"disable"`
}

// repoRoot is the module root: go test runs in the package's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatalf("locating the repository root: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod at %s, the expected repository root: %v", root, err)
	}
	return root
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	path := filepath.Join(repoRoot(t), "docker-compose.yml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	var c composeFile
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
	if len(c.Services) == 0 {
		t.Fatalf("%s declares no services", path)
	}
	return c
}

// composeSecrets are the values docker-compose.yml has no default for: each
// deployment writes its own in .env.
var composeSecrets = []string{"POSTGRES_PASSWORD", "EXPECTCT_DB_PASSWORD", "EXPECTCT_DB_APP_PASSWORD", "TEMPORAL_DB_PASSWORD", "EXPECTCT_OIDC_ISSUER", "EXPECTCT_OIDC_AUDIENCES", "EXPECTCT_OIDC_CLIENT_ID", "EXPECTCT_CODEC_KEYS", "EXPECTCT_CHECKPOINT_KEY", "EXPECTCT_CHECKPOINT_PUBLIC_KEYS"}

// composeConfig runs `docker-compose config -q` on the file with the given
// secrets in the environment (and none of the caller's).
func composeConfig(t *testing.T, secrets map[string]string) (string, error) {
	t.Helper()
	root := repoRoot(t)
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Fatalf("docker-compose is not installed, so docker-compose.yml cannot be validated: "+
			"run `make tools`, or `apt-get install -y docker-compose` (Debian package): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-f", filepath.Join(root, "docker-compose.yml"), "config", "-q")
	cmd.Dir = root
	for _, kv := range os.Environ() {
		if !slices.ContainsFunc(composeSecrets, func(v string) bool { return strings.HasPrefix(kv, v+"=") }) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range secrets {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err = cmd.Run()
	return out.String(), err
}

// TestComposeConfigIsValid has docker-compose itself parse, interpolate and
// validate the file, as `docker compose up` would before starting anything.
func TestComposeConfigIsValid(t *testing.T) {
	secrets := map[string]string{}
	for _, k := range composeSecrets {
		secrets[k] = "a-value-of-at-least-32-random-bytes-" + k
	}
	if out, err := composeConfig(t, secrets); err != nil {
		t.Fatalf("docker-compose config -q rejects docker-compose.yml: %v\n%s", err, out)
	}
}

// TestComposeShipsNoSecrets: without its own passwords and signing key, the
// stack refuses to start and says which value is missing, instead of running
// with values anyone can read in the repository.
func TestComposeShipsNoSecrets(t *testing.T) {
	for _, missing := range composeSecrets {
		secrets := map[string]string{}
		for _, k := range composeSecrets {
			if k != missing {
				secrets[k] = "a-value-of-at-least-32-random-bytes-" + k
			}
		}
		out, err := composeConfig(t, secrets)
		if err == nil || !strings.Contains(out, "set "+missing+" in .env") {
			t.Errorf("without %s: %v\n%s\nwant a refusal naming it", missing, err, out)
		}
	}
}

func TestComposeHasEveryService(t *testing.T) {
	c := loadCompose(t)
	for _, want := range requiredServices {
		if _, ok := c.Services[want.name]; !ok {
			t.Errorf("service %q (%s) is missing from docker-compose.yml", want.name, want.why)
		}
	}
}

func TestComposeImagesArePinned(t *testing.T) {
	c := loadCompose(t)
	for name, s := range c.Services {
		if s.Build != nil {
			// Built here from this repository: the image is whatever this
			// commit builds.
			continue
		}
		if s.Image == "" {
			t.Errorf("service %q has neither image nor build", name)
			continue
		}
		if err := checkPinned(s.Image); err != nil {
			t.Errorf("service %q: %v", name, err)
		}
	}
}

// checkPinned accepts an image reference with a digest, or with a tag that
// names an exact version (at least one dot: "16.13", "v1.33.1",
// "1.29.7-tctl-1.18.4-cli-1.7.2"); it refuses no tag, latest, bare majors
// ("16", "16-alpine") and references left to a variable.
func checkPinned(ref string) error {
	if strings.Contains(ref, "$") {
		return errors.New("image " + ref + " is chosen by a variable; pin it in the file")
	}
	if strings.Contains(ref, "@sha256:") {
		return nil
	}
	last := ref[strings.LastIndex(ref, "/")+1:]
	i := strings.LastIndex(last, ":")
	if i < 0 {
		return errors.New("image " + ref + " has no tag: pin an exact version")
	}
	tag := last[i+1:]
	switch {
	case tag == "":
		return errors.New("image " + ref + " has an empty tag")
	case strings.EqualFold(tag, "latest"):
		return errors.New("image " + ref + " uses latest: pin an exact version")
	case !strings.Contains(tag, "."):
		return errors.New("image " + ref + " uses the floating tag " + tag + ": pin an exact version such as 1.2.3")
	}
	return nil
}

func TestCheckPinned(t *testing.T) {
	for _, tc := range []struct {
		ref string
		ok  bool
	}{
		{"postgres:16.13", true},
		{"axllent/mailpit:v1.33.1", true},
		{"temporalio/admin-tools:1.29.7-tctl-1.18.4-cli-1.7.2", true},
		{"registry.example:5000/team/app:2.1.0", true},
		{"gcr.io/distroless/static-debian12@sha256:0123456789abcdef", true},
		{"postgres", false},
		{"postgres:latest", false},
		{"postgres:16", false},
		{"postgres:16-alpine", false},
		{"registry.example:5000/team/app", false},
		{"temporalio/server:${TEMPORAL_VERSION}", false},
	} {
		err := checkPinned(tc.ref)
		if (err == nil) != tc.ok {
			t.Errorf("checkPinned(%q) = %v, want accepted=%v", tc.ref, err, tc.ok)
		}
	}
}

func TestComposeLongRunningServicesHaveHealthchecks(t *testing.T) {
	c := loadCompose(t)
	for name, s := range c.Services {
		if jobs[name] {
			if s.Restart == "always" || s.Restart == "unless-stopped" {
				t.Errorf("one-shot job %q has restart: %s, so it never completes and nothing after it starts", name, s.Restart)
			}
			continue
		}
		if !hasHealthcheck(s) {
			t.Errorf("long-running service %q has no healthcheck: services that depend on it cannot wait for it", name)
		}
	}
}

func hasHealthcheck(s service) bool {
	if s.Healthcheck == nil || s.Healthcheck.Disable {
		return false
	}
	switch test := s.Healthcheck.Test.(type) {
	case string:
		return strings.TrimSpace(test) != ""
	case []any:
		return len(test) > 0 && test[0] != "NONE"
	}
	return false
}

// TestComposeWorkerScales: `docker compose up --scale worker=3` needs
// replicas that can coexist on one host.
func TestComposeWorkerScales(t *testing.T) {
	c := loadCompose(t)
	w, ok := c.Services["worker"]
	if !ok {
		t.Fatal("no worker service")
	}
	if w.ContainerName != "" {
		t.Errorf("worker has container_name %q: a second replica could not be created", w.ContainerName)
	}
	if len(w.Ports) > 0 {
		t.Errorf("worker publishes host ports %v: a second replica could not bind them", w.Ports)
	}
}

func TestComposeStartOrder(t *testing.T) {
	c := loadCompose(t)
	deps := map[string]map[string]string{}
	for name, s := range c.Services {
		d, err := dependencies(s.DependsOn)
		if err != nil {
			t.Errorf("service %q: %v", name, err)
			continue
		}
		deps[name] = d
		for target, condition := range d {
			other, ok := c.Services[target]
			switch {
			case !ok:
				t.Errorf("service %q depends on %q, which does not exist", name, target)
			case condition == healthy && !hasHealthcheck(other):
				t.Errorf("service %q waits for %q to be healthy, but %q has no healthcheck", name, target, target)
			case condition == completed && !jobs[target]:
				t.Errorf("service %q waits for %q to complete, but %q is not a one-shot job", name, target, target)
			case condition != healthy && condition != completed:
				t.Errorf("service %q depends on %q with condition %q; use %s or %s", name, target, condition, healthy, completed)
			}
		}
	}
	for _, want := range requiredDependencies {
		if got, ok := deps[want.from][want.to]; !ok {
			t.Errorf("service %q must wait for %q (%s)", want.from, want.to, want.condition)
		} else if got != want.condition {
			t.Errorf("service %q waits for %q with %s, want %s", want.from, want.to, got, want.condition)
		}
	}
}

// dependencies reads depends_on, which must be the long form: a service name
// alone would only wait for the container to start, not to be ready.
func dependencies(n yaml.Node) (map[string]string, error) {
	switch n.Kind {
	case 0:
		return nil, nil
	case yaml.MappingNode:
	default:
		return nil, errors.New("depends_on must be the long form, each entry with a condition")
	}
	var m map[string]struct {
		Condition string `yaml:"condition"`
	}
	if err := n.Decode(&m); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(m))
	for target, d := range m {
		out[target] = d.Condition
	}
	return out, nil
}

// TestComposeBindMountsExist: a missing file behind a bind mount is created
// as an empty directory by Docker, and the job using it fails obscurely.
func TestComposeBindMountsExist(t *testing.T) {
	root := repoRoot(t)
	c := loadCompose(t)
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			var source string
			switch v := v.(type) {
			case string:
				source, _, _ = strings.Cut(v, ":")
			case map[string]any:
				if v["type"] == "bind" {
					source, _ = v["source"].(string)
				}
			}
			if !strings.HasPrefix(source, "./") && !strings.HasPrefix(source, "../") {
				continue
			}
			if _, err := os.Stat(filepath.Join(root, source)); err != nil {
				t.Errorf("service %q mounts %s, which does not exist: %v", name, source, err)
			}
		}
	}
}

func TestDockerfileIsMultiStageAndNonRoot(t *testing.T) {
	path := filepath.Join(repoRoot(t), "Dockerfile")
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("opening %s: %v", path, err)
	}
	defer f.Close()
	stages := 0
	user := "" // the USER of the stage being read; the last stage's wins
	var images []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			stages++
			user = ""
			images = append(images, fromImage(fields[1:]))
		case "USER":
			user = fields[1]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	if stages < 2 {
		t.Errorf("Dockerfile has %d FROM stage(s); want a build stage and a small runtime stage", stages)
	}
	name, _, _ := strings.Cut(user, ":")
	switch name {
	case "":
		t.Error("the Dockerfile's final stage sets no USER, so the image runs as root")
	case "root", "0":
		t.Errorf("the Dockerfile's final stage runs as %q; use a non-root user such as 65532", user)
	}
	for _, image := range images {
		if strings.HasSuffix(image, ":latest") || !strings.ContainsAny(image, ":@") {
			t.Errorf("Dockerfile stage FROM %s is not pinned to a tag or digest", image)
		}
	}
}

// fromImage is the image of a FROM line's arguments, after its flags
// (--platform=...).
func fromImage(args []string) string {
	for _, a := range args {
		if !strings.HasPrefix(a, "--") {
			return a
		}
	}
	return ""
}
