package control

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Reasons an item is out of an assessment's scope.
const (
	OutTier      = "tier"      // the profile leaves desirable items out
	OutCondition = "condition" // the item applies only under a condition that does not hold
	OutExcluded  = "excluded"  // an approved exclusion (custom profile)
)

// Standing is how an item counts in an assessment at a given time: the
// stored answer read together with the profile, the conditions, and the
// state of the approvals behind risk acceptances and exclusions.
type Standing struct {
	InScope   bool       `json:"in_scope"`
	OutReason string     `json:"out_reason,omitempty"`
	Status    ItemStatus `json:"status"` // effective status
	Answered  bool       `json:"answered"`
	Met       bool       `json:"met"` // implemented, not applicable, or a risk acceptance in force
	Gap       bool       `json:"gap"` // in scope and not met
	// Awaiting is set while an approval (acceptance or exclusion) waits
	// for a decision.
	Awaiting bool `json:"awaiting_approval"`
	// Overdue is set for a gap whose due date (or planned target date) has
	// passed.
	Overdue bool `json:"overdue"`
}

// Evaluate returns the standing of catalog item n, answered by it, in
// assessment a at time now.
func Evaluate(a *Assessment, n *Node, it *Item, now time.Time) Standing {
	today := Today(now)
	s := Standing{InScope: true, Status: it.Status}
	switch {
	case a.Profile == ProfileBasic && n.Tier == TierDesirable:
		s.InScope, s.OutReason = false, OutTier
	case !conditionsHold(n, a.Conditions):
		s.InScope, s.OutReason = false, OutCondition
	case a.Profile == ProfileCustom && it.Excluded && it.ExcludeApproval.InForce(now):
		s.InScope, s.OutReason = false, OutExcluded
	}
	if a.Profile == ProfileCustom && it.Excluded && it.ExcludeApproval.Awaiting() {
		s.Awaiting = true
	}
	if it.Status == ItemRiskAccepted {
		if it.AcceptApproval.Awaiting() {
			s.Awaiting = true
		}
		if !it.AcceptApproval.InForce(now) {
			s.Status = ItemAcceptancePending
		}
	}
	s.Answered = it.Status != ItemOpen
	s.Met = s.Status == ItemImplemented || s.Status == ItemNotApplicable || s.Status == ItemRiskAccepted
	s.Gap = s.InScope && !s.Met
	if s.Gap {
		due := it.DueDate
		if due.IsZero() && it.Status == ItemPlanned {
			due = it.TargetDate
		}
		s.Overdue = !due.IsZero() && today.After(due)
	}
	return s
}

// conditionsHold reports whether every "only" condition of n holds.
func conditionsHold(n *Node, held []string) bool {
	for _, ap := range n.Applicability {
		if ap.Scope == ScopeOnly && !slices.Contains(held, ap.Condition) {
			return false
		}
	}
	return true
}

// Tally counts items by how they stand.
type Tally struct {
	Items    int                `json:"items"`
	InScope  int                `json:"in_scope"`
	Answered int                `json:"answered"`
	Met      int                `json:"met"`
	Gaps     int                `json:"gaps"`
	Awaiting int                `json:"awaiting_approval"`
	ByStatus map[ItemStatus]int `json:"by_status"`
}

func (t *Tally) add(s Standing) {
	t.Items++
	if !s.InScope {
		return
	}
	t.InScope++
	if t.ByStatus == nil {
		t.ByStatus = map[ItemStatus]int{}
	}
	t.ByStatus[s.Status]++
	if s.Answered {
		t.Answered++
	}
	if s.Met {
		t.Met++
	}
	if s.Gap {
		t.Gaps++
	}
	if s.Awaiting {
		t.Awaiting++
	}
}

// MetPercent is the share of in-scope items that are met, in percent with
// one decimal (0 when nothing is in scope).
func (t Tally) MetPercent() float64 { return percent(t.Met, t.InScope) }

// AnsweredPercent is the share of in-scope items answered.
func (t Tally) AnsweredPercent() float64 { return percent(t.Answered, t.InScope) }

func percent(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(int(float64(n)*1000/float64(of)+0.5)) / 10
}

// TierTally is the tally of one tier.
type TierTally struct {
	Tier Tier `json:"tier"`
	Tally
}

// ProgressRow is the progress of one area or section.
type ProgressRow struct {
	NodeID string      `json:"id"`
	Ref    string      `json:"ref,omitempty"`
	Title  Text        `json:"title"`
	Depth  int         `json:"depth"` // 0 for the area, 1 for its sections …
	All    Tally       `json:"all"`
	Tiers  []TierTally `json:"tiers,omitempty"` // per tier, for tiered catalogs
}

func (r *ProgressRow) add(n *Node, s Standing) {
	r.All.add(s)
	for i := range r.Tiers {
		if r.Tiers[i].Tier == n.Tier {
			r.Tiers[i].add(s)
		}
	}
}

// AreaProgress is an area with its sections.
type AreaProgress struct {
	ProgressRow
	Sections []ProgressRow `json:"sections"`
}

// Progress is the progress of an assessment: in total, per area, and per
// section, each by tier.
type Progress struct {
	Total ProgressRow    `json:"total"`
	Areas []AreaProgress `json:"areas"`
}

// Snapshot is everything about one assessment, read at one time: the
// assessment, its catalog, its items, evidence and tasks, and the people
// they name. Reports, exports and the gap analysis are computed from it.
type Snapshot struct {
	Assessment *Assessment
	Catalog    *Catalog
	Items      []*Item // in catalog order
	Evidence   []*Evidence
	Tasks      []*Task
	People     map[string]Person
	Now        time.Time

	byNode map[string]*Item
	byRow  map[string]*Item
}

// index prepares the lookups.
func (s *Snapshot) index() {
	s.byNode = make(map[string]*Item, len(s.Items))
	s.byRow = make(map[string]*Item, len(s.Items))
	for _, it := range s.Items {
		s.byNode[it.NodeID] = it
		s.byRow[it.ID] = it
	}
}

// Item returns the item answering catalog node id, or nil.
func (s *Snapshot) Item(nodeID string) *Item {
	if s.byNode == nil {
		s.index()
	}
	return s.byNode[nodeID]
}

// ItemByRow returns the item with the row ID, or nil.
func (s *Snapshot) ItemByRow(id string) *Item {
	if s.byRow == nil {
		s.index()
	}
	return s.byRow[id]
}

// Person returns the person with id (a placeholder for an unknown ID).
func (s *Snapshot) Person(id string) Person {
	if p, ok := s.People[id]; ok {
		return p
	}
	return Person{ID: id}
}

// Row is one catalog item with its answer and standing.
type Row struct {
	Node     *Node
	Item     *Item
	Standing Standing
	Ref      string // the reference as people cite it, e.g. "2.2.3 ③"
	Area     *Node
	Evidence []*Evidence
	Tasks    []*Task
}

// Flags that call for attention on a row.
func (r *Row) EvidenceExpired(today time.Time) bool {
	for _, e := range r.Evidence {
		if e.Expired(today) {
			return true
		}
	}
	return false
}

// NeedsRenewal reports whether any evidence waits for renewal.
func (r *Row) NeedsRenewal() bool {
	for _, e := range r.Evidence {
		if e.NeedsRenewal {
			return true
		}
	}
	return false
}

// OpenTasks counts the row's open tasks.
func (r *Row) OpenTasks() int {
	n := 0
	for _, t := range r.Tasks {
		if t.State == TaskOpen {
			n++
		}
	}
	return n
}

// Rows returns every catalog item in document order with its answer.
// Items without a stored answer (a catalog edited after the assessment
// began cannot happen: editions are immutable) are skipped.
func (s *Snapshot) Rows() []Row {
	evidence := map[string][]*Evidence{}
	for _, e := range s.Evidence {
		evidence[e.ItemID] = append(evidence[e.ItemID], e)
	}
	tasks := map[string][]*Task{}
	for _, t := range s.Tasks {
		if t.ItemID != "" {
			tasks[t.ItemID] = append(tasks[t.ItemID], t)
		}
	}
	areas := s.Catalog.Areas()
	inArea := map[string]*Node{}
	for _, a := range areas {
		_ = WalkNode(a, func(n, _ *Node, _ int) error {
			inArea[n.ID] = a
			return nil
		})
	}
	var out []Row
	for _, n := range s.Catalog.Items() {
		it := s.Item(n.ID)
		if it == nil {
			continue
		}
		out = append(out, Row{Node: n, Item: it, Standing: Evaluate(s.Assessment, n, it, s.Now), Ref: s.Catalog.DisplayRef(n.ID),
			Area: inArea[n.ID], Evidence: evidence[it.ID], Tasks: tasks[it.ID]})
	}
	return out
}

// Progress tallies the rows per area and section, by tier.
func (s *Snapshot) Progress(rows []Row) *Progress {
	c := s.Catalog
	newRow := func(n *Node, depth int) ProgressRow {
		r := ProgressRow{Depth: depth}
		if n != nil {
			r.NodeID, r.Ref, r.Title = n.ID, n.Ref, n.Title
		}
		if c.Tiered {
			for _, t := range Tiers {
				r.Tiers = append(r.Tiers, TierTally{Tier: t})
			}
		}
		return r
	}
	p := &Progress{Total: newRow(nil, 0)}
	p.Total.Title = c.Framework.Name
	rowOf := map[string]*ProgressRow{}
	for _, a := range c.Areas() {
		ap := AreaProgress{ProgressRow: newRow(a, 0)}
		_ = WalkNode(a, func(n, _ *Node, depth int) error {
			if n != a && n.Kind == KindSection {
				ap.Sections = append(ap.Sections, newRow(n, depth-1))
			}
			return nil
		})
		p.Areas = append(p.Areas, ap)
	}
	for i := range p.Areas {
		rowOf[p.Areas[i].NodeID] = &p.Areas[i].ProgressRow
		for j := range p.Areas[i].Sections {
			rowOf[p.Areas[i].Sections[j].NodeID] = &p.Areas[i].Sections[j]
		}
	}
	for _, r := range rows {
		p.Total.add(r.Node, r.Standing)
		path, err := c.Path(r.Node.ID)
		if err != nil {
			continue
		}
		for _, anc := range path {
			if pr := rowOf[anc.ID]; pr != nil && anc != r.Node {
				pr.add(r.Node, r.Standing)
			}
		}
	}
	// Sections without any item (pure headings) say nothing.
	for i := range p.Areas {
		p.Areas[i].Sections = slices.DeleteFunc(p.Areas[i].Sections, func(r ProgressRow) bool { return r.All.Items == 0 })
	}
	return p
}

// Gap is an in-scope item that is not met.
type Gap struct {
	Row
	// Due is the item's due date, or its target date when it is planned
	// without one.
	Due time.Time
}

var tierRank = map[Tier]int{TierBasic: 0, TierDesirable: 1, "": 2}

// Gaps returns the gaps of the rows ordered by tier (basic first), due
// date (soonest first, undated last), owner, and catalog order.
func (s *Snapshot) Gaps(rows []Row) []Gap {
	var out []Gap
	for _, r := range rows {
		if !r.Standing.Gap {
			continue
		}
		g := Gap{Row: r, Due: r.Item.DueDate}
		if g.Due.IsZero() && r.Item.Status == ItemPlanned {
			g.Due = r.Item.TargetDate
		}
		out = append(out, g)
	}
	order := map[string]int{}
	for i, r := range rows {
		order[r.Node.ID] = i
	}
	slices.SortStableFunc(out, func(a, b Gap) int {
		if c := cmp.Compare(tierRank[a.Node.Tier], tierRank[b.Node.Tier]); c != 0 {
			return c
		}
		switch {
		case a.Due.IsZero() && !b.Due.IsZero():
			return 1
		case !a.Due.IsZero() && b.Due.IsZero():
			return -1
		}
		if c := a.Due.Compare(b.Due); c != 0 {
			return c
		}
		ao, bo := s.ownerKey(a.Item.OwnerID), s.ownerKey(b.Item.OwnerID)
		if c := cmp.Compare(ao, bo); c != 0 {
			return c
		}
		return cmp.Compare(order[a.Node.ID], order[b.Node.ID])
	})
	return out
}

// ownerKey sorts unassigned items last.
func (s *Snapshot) ownerKey(id string) string {
	if id == "" {
		return "\uffff"
	}
	return strings.ToLower(s.Person(id).Name())
}

// DisplayRef returns the reference people cite for a node: an item's own
// reference qualified by its section's ("2.2.3 ③", "1.1-01"), unless it
// already carries it ("1-a").
func (c *Catalog) DisplayRef(id string) string {
	n, err := c.Node(id)
	if err != nil {
		return id
	}
	if n.Kind == KindSection || n.Ref == "" {
		if n.Ref == "" {
			return n.ID
		}
		return n.Ref
	}
	parent := c.index().parent[id]
	if parent == nil || parent.Ref == "" {
		return n.Ref
	}
	pref := c.DisplayRef(parent.ID)
	switch {
	case strings.HasPrefix(n.Ref, parent.Ref):
		return n.Ref
	case strings.Trim(n.Ref, "0123456789") == "":
		return pref + "-" + n.Ref
	}
	return pref + " " + n.Ref
}
