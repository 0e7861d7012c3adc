package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"omnichart/internal/ehr"
	"omnichart/internal/fhir"
	"omnichart/internal/fhir/search"
)

// Search implements ehr.Tx. Results are ordered by id and paged with an id cursor.
func (t *tx) Search(ctx context.Context, q *search.Query) (*ehr.Page, error) {
	where := []string{"r.deleted = ?"}
	args := []any{false}
	if q.Type != "" {
		where = append(where, "r.res_type = ?")
		args = append(args, q.Type)
	}
	for _, p := range q.Params {
		cond, cargs, err := condition(q.Type, p)
		if err != nil {
			return nil, err
		}
		where = append(where, cond)
		args = append(args, cargs...)
	}
	selection := strings.Join(where, " AND ")
	page := &ehr.Page{Total: -1}
	if q.Total == "accurate" || q.Summary == "count" {
		if err := t.queryRow(ctx, "SELECT count(*) FROM resources r WHERE "+selection, args...).Scan(&page.Total); err != nil {
			return nil, fmt.Errorf("search count: %w", err)
		}
		if q.Summary == "count" {
			return page, nil
		}
	}
	count := q.Count
	if count <= 0 {
		count = search.DefaultCount
	}
	if q.Cursor != "" {
		selection += " AND (r.res_type > ? OR (r.res_type = ? AND r.res_id > ?))"
		typ, id, _ := strings.Cut(q.Cursor, "/")
		args = append(args, typ, typ, id)
	}
	rows, err := t.query(ctx, fmt.Sprintf(`SELECT r.res_type, r.res_id, r.version, r.last_updated, r.body FROM resources r
		WHERE %s ORDER BY r.res_type, r.res_id LIMIT %d`, selection, count+1), args...)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		rec := &ehr.Record{}
		var lu int64
		if err := rows.Scan(&rec.Type, &rec.ID, &rec.Version, &lu, &rec.Resource); err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		rec.LastUpdated = time.UnixMicro(lu).UTC()
		page.Records = append(page.Records, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	if len(page.Records) > count {
		page.Records = page.Records[:count]
		last := page.Records[count-1]
		page.Next = last.Type + "/" + last.ID
	}
	return page, nil
}

// condition translates one search parameter into SQL over resources r.
// TODO(3): every R4 search parameter through the index tables.
func condition(typ string, p search.Param) (string, []any, error) {
	switch p.Name {
	case "_id":
		if p.Modifier != "" {
			return "", nil, ehr.Errorf(ehr.Invalid, "modifier :%s is not supported on _id", p.Modifier)
		}
		marks := make([]string, len(p.Values))
		args := make([]any, len(p.Values))
		for i, v := range p.Values {
			marks[i] = "?"
			args[i] = search.Unescape(v)
		}
		return "r.res_id IN (" + strings.Join(marks, ", ") + ")", args, nil
	case "identifier":
		if p.Modifier != "" {
			return "", nil, ehr.Errorf(ehr.Invalid, "modifier :%s is not supported on identifier yet", p.Modifier)
		}
		var ors []string
		var args []any
		for _, v := range p.Values {
			system, code, hasSystem := search.SplitToken(v)
			switch {
			case !hasSystem:
				ors = append(ors, "(t.code = ?)")
				args = append(args, code)
			case code == "":
				ors = append(ors, "(t.system = ?)")
				args = append(args, system)
			default:
				ors = append(ors, "(t.system = ? AND t.code = ?)")
				args = append(args, system, code)
			}
		}
		return `EXISTS (SELECT 1 FROM index_token t WHERE t.compartment = r.compartment AND t.res_type = r.res_type
			AND t.res_id = r.res_id AND t.param = 'identifier' AND (` + strings.Join(ors, " OR ") + `))`, args, nil
	}
	return "", nil, ehr.Errorf(ehr.Invalid, "search parameter %q is not supported for %s", p.Name, typ)
}

// SearchParameters lists the search parameters Search supports for typ.
func (s *Store) SearchParameters(typ string) []ehr.SearchParameterInfo {
	out := []ehr.SearchParameterInfo{{Name: "_id", Type: "token", Definition: "http://hl7.org/fhir/SearchParameter/Resource-id"}}
	if el, _, ok := fhir.R4().Child(fhir.TypeContext(typ), "identifier"); ok && len(el.Types) > 0 && el.Types[0] == "Identifier" {
		out = append(out, ehr.SearchParameterInfo{Name: "identifier", Type: "token"})
	}
	return out
}
