package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/scimflow/scimflow/internal/scimflow"
	"github.com/scimflow/scimflow/internal/store"
)

// printResult writes v as JSON (with --json) or as key: value lines.
func printResult(env *environment, asJSON bool, v map[string]any, order ...string) error {
	if asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	for _, k := range order {
		if val, ok := v[k]; ok && val != nil {
			fmt.Fprintf(env.stdout, "%s: %v\n", k, val)
		}
	}
	return nil
}

func runOrgCreate(ctx context.Context, args []string, env *environment) error {
	cfg := loadConfig(env)
	fs := cfg.flagSet("org create", env)
	name := fs.String("name", "", "org name (required)")
	plan := fs.String("plan", "business", "pricing plan: free, business or enterprise")
	scimGroups := fs.Bool("scim-groups", false, "activate the SCIM Groups feature")
	admin := fs.String("admin-username", "admin", "userName of the first Org Admin")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return usageError{"org create: --name is required"}
	}
	db, err := openStore(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer db.Close()
	b, err := db.CreateOrg(ctx, store.NewOrg{Name: *name, Plan: scimflow.Plan(*plan), SCIMGroups: *scimGroups, AdminUserName: *admin})
	if err != nil {
		return err
	}
	return printResult(env, *asJSON, map[string]any{
		"id": b.Org.ID, "name": b.Org.Name, "plan": b.Org.Plan, "scimGroups": b.Org.SCIMGroups,
		"adminUserId": b.Admin.ID, "adminTokenId": b.AdminToken.ID, "adminToken": b.TokenSecret,
	}, "id", "name", "plan", "scimGroups", "adminUserId", "adminToken")
}

// optionalBool is a flag that records whether it was set.
type optionalBool struct{ v *bool }

func (o *optionalBool) String() string {
	if o.v == nil {
		return ""
	}
	return strconv.FormatBool(*o.v)
}
func (o *optionalBool) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	o.v = &b
	return nil
}
func (o *optionalBool) IsBoolFlag() bool { return true }

func runOrgUpdate(ctx context.Context, args []string, env *environment) error {
	cfg := loadConfig(env)
	fs := cfg.flagSet("org update", env)
	id := fs.String("org", "", "org id (required)")
	name := fs.String("name", "", "new name")
	plan := fs.String("plan", "", "new plan: free, business or enterprise")
	var scimGroups optionalBool
	fs.Var(&scimGroups, "scim-groups", "activate (true) or deactivate (false) the SCIM Groups feature")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *id == "" {
		return usageError{"org update: --org is required"}
	}
	var u store.OrgUpdate
	if *name != "" {
		u.Name = name
	}
	if *plan != "" {
		p := scimflow.Plan(*plan)
		u.Plan = &p
	}
	u.SCIMGroups = scimGroups.v
	db, err := openStore(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer db.Close()
	org, err := db.UpdateOrg(ctx, *id, u)
	if err != nil {
		return err
	}
	return printResult(env, *asJSON, map[string]any{"id": org.ID, "name": org.Name, "plan": org.Plan, "scimGroups": org.SCIMGroups},
		"id", "name", "plan", "scimGroups")
}

func tokenJSON(t *scimflow.Token) map[string]any {
	m := map[string]any{"id": t.ID, "orgId": t.OrgID, "scope": t.Scope, "name": t.Name, "createdAt": t.CreatedAt.Format(time.RFC3339)}
	if t.UserID != "" {
		m["userId"] = t.UserID
	}
	for k, v := range map[string]*time.Time{"expiresAt": t.ExpiresAt, "lastUsedAt": t.LastUsedAt, "revokedAt": t.RevokedAt} {
		if v != nil {
			m[k] = v.Format(time.RFC3339)
		}
	}
	return m
}

func runTokenCreate(ctx context.Context, args []string, env *environment) error {
	cfg := loadConfig(env)
	fs := cfg.flagSet("token create", env)
	org := fs.String("org", "", "org id (required)")
	scope := fs.String("scope", "", "scim or admin (required)")
	name := fs.String("name", "", "a name to recognise the token by")
	user := fs.String("user", "", "owner of an admin token (an Org Admin); default: the org's first Org Admin")
	expires := fs.Duration("expires-in", 0, "lifetime, e.g. 720h; 0 never expires")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *org == "" || *scope == "" {
		return usageError{"token create: --org and --scope are required"}
	}
	if *expires < 0 {
		return usageError{"token create: --expires-in must be positive"}
	}
	db, err := openStore(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer db.Close()
	t, secret, err := db.CreateToken(ctx, *org, store.NewToken{Scope: scimflow.Scope(*scope), Name: *name, UserID: *user, ExpiresIn: *expires})
	if err != nil {
		return err
	}
	m := tokenJSON(t)
	m["token"] = secret
	return printResult(env, *asJSON, m, "id", "scope", "name", "expiresAt", "token")
}

func runTokenList(ctx context.Context, args []string, env *environment) error {
	cfg := loadConfig(env)
	fs := cfg.flagSet("token list", env)
	org := fs.String("org", "", "org id (required)")
	scope := fs.String("scope", "", "only tokens of this scope")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *org == "" {
		return usageError{"token list: --org is required"}
	}
	db, err := openStore(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer db.Close()
	toks, err := db.ListTokens(ctx, *org, scimflow.Scope(*scope))
	if err != nil {
		return err
	}
	list := make([]any, len(toks))
	for i, t := range toks {
		list[i] = tokenJSON(t)
		if !*asJSON {
			fmt.Fprintf(env.stdout, "%s\t%s\t%s\n", t.ID, t.Scope, t.Name)
		}
	}
	if *asJSON {
		return printResult(env, true, map[string]any{"tokens": list})
	}
	return nil
}

func runTokenRevoke(ctx context.Context, args []string, env *environment) error {
	cfg := loadConfig(env)
	fs := cfg.flagSet("token revoke", env)
	org := fs.String("org", "", "org id (required)")
	id := fs.String("id", "", "token id (required)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *org == "" || *id == "" {
		return usageError{"token revoke: --org and --id are required"}
	}
	db, err := openStore(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer db.Close()
	t, err := db.RevokeToken(ctx, *org, *id)
	if err != nil {
		return err
	}
	return printResult(env, *asJSON, tokenJSON(t), "id", "scope", "revokedAt")
}
