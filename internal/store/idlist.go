package store

import (
	"database/sql/driver"
	"encoding/json"
	"strings"

	"gorm.io/gorm"
)

// idList is a list of ids sent as one statement parameter: a text[] on
// Postgres, a JSON array (read with json_each) on SQLite. A statement
// over 5,000 ids is then one short text to parse and plan, sent once,
// instead of 5,000 placeholders, or ten statements of 500 (which the
// membership path used to send).
type idList struct {
	ids      []string
	postgres bool
}

func idsParam(tx *gorm.DB, ids []string) idList {
	return idList{ids: ids, postgres: tx.Dialector.Name() == "postgres"}
}

// Value renders the list in its dialect's literal form. Ids come from
// clients: every element is quoted, with '\' and '"' escaped.
func (l idList) Value() (driver.Value, error) {
	if !l.postgres {
		b, err := json.Marshal(l.ids)
		return string(b), err
	}
	var sb strings.Builder
	sb.WriteByte('{')
	for i, id := range l.ids {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteByte('"')
		for _, r := range id {
			if r == '"' || r == '\\' {
				sb.WriteByte('\\')
			}
			sb.WriteRune(r)
		}
		sb.WriteByte('"')
	}
	sb.WriteByte('}')
	return sb.String(), nil
}

// inIDs is the condition "col is one of the list's ids" for the
// placeholder that takes an idList. On Postgres it is a ScalarArrayOp,
// which a btree index on col answers with one descent per id: the plan
// for a list of ids whatever the planner knows about the table.
func inIDs(tx *gorm.DB, col string) string {
	if tx.Dialector.Name() == "postgres" {
		return col + " = ANY(?::text[])"
	}
	return col + " IN (SELECT value FROM json_each(?))"
}

// eachID is a FROM item yielding the list's ids as rows of column id.
func eachID(tx *gorm.DB) string {
	if tx.Dialector.Name() == "postgres" {
		return "unnest(?::text[]) AS ids(id)"
	}
	return "(SELECT value AS id FROM json_each(?)) AS ids"
}
