//! The extraction rules by name, and their thresholds in one table.
//!
//! The scoring core (cut the page into blocks, value each block, sum the values per element,
//! pick the best element, keep its blocks) is in [`super::content`]. Everything around it that
//! marks a part of the page as furniture, or keeps a part the core would miss, is a [`Rule`]:
//! it has a name, it can be switched off ([`Rules::without`], `--without NAME` in the
//! extraction bench) to measure what it is worth, and `feedwatch extract --explain` names the
//! rule that kept or dropped each block. The numbers the rules and the core compare against
//! are the fields of [`LIMITS`].

/// A rule of the extractor, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// Class/id names of page furniture (`nav`, `share`, `related`, `sidebar`, `byline`, …).
    BoilerplateNames,
    /// Tags and ARIA roles of furniture: `aside`, `form`, `figcaption`, `banner`,
    /// `complementary`, `search`, `menu`.
    FurnitureRoles,
    /// A furniture-looking element that holds much of the page's prose is layout, and kept.
    ProseGuard,
    /// Comment sections: by class/id names, never the body beside an article, and worth at
    /// most a share of their container's score.
    CommentSections,
    /// Modal dialogs by ARIA role or `aria-modal`.
    Dialogs,
    /// The page's footer and menus by tag or landmark role (`footer`, `nav`, `contentinfo`).
    SiteFurniture,
    /// Text outside the page's one `main` or one `article` landmark is not body.
    Landmarks,
    /// Hidden parts (`hidden`, `display:none`, popovers) and screen-reader-only text.
    Hidden,
    /// Reviews and ratings on a product's page.
    ShopParts,
    /// Semantic weight of a container: `itemprop=articleBody`, `article`, `main`, content-like
    /// class names.
    SemanticBonus,
    /// The body is looked for inside the page's own `itemprop=articleBody` when it holds a
    /// fair share of the prose.
    DeclaredBody,
    /// Text before the headline is not body.
    Headline,
    /// When class names leave next to nothing, the body is picked by the text alone.
    PlainFallback,
    /// Repeated sibling cards (a listing, a product grid, table rows) as the content.
    Cards,
    /// A page of sections (no article, thread or product) gives all its sections.
    WidenSections,
    /// A closing section's heading late in the body ("Related", "Comments") ends it.
    TailHeadings,
    /// A heading that only introduces other stories ("Read this next") ends the body earlier.
    TeaserHeadings,
    /// Runs of paragraphs repeating earlier ones word for word are given once.
    RepeatedRuns,
    /// Short labels of a page's tools and widgets ("Advertisement", "Add to cart") are dropped.
    FurnitureLabels,
    /// Date and byline lines above the first real paragraph are dropped.
    Datelines,
    /// A thread's poster labels and counts ("Joined", "Posts: 4,032") are dropped.
    PostLabels,
    /// A script-rendered page is read from its `<noscript>` copy.
    NoscriptFallback,
    /// The page's structured-data `articleBody` stands in when it holds clearly more.
    StructuredBody,
    /// A `<title>` never closed before the body ends at the next tag, as old browsers read it,
    /// instead of swallowing the page.
    UnclosedTitle,
    /// Comment threads by their structure: schema.org `Comment` items, and runs of sibling
    /// posts each signed with an author, a time or a "Reply", after the article.
    CommentStructure,
    /// The body's lead or its continuation in a sibling element beside the chosen one: a
    /// standfirst before the body, the second half of a body an advert splits.
    SiblingParts,
    /// Teasers of other stories: a run of sibling cards with linked headings after the
    /// container of the article's headline and its prose.
    TeaserCards,
}

impl Rule {
    /// Every rule, in the order the explanation and the ablation table list them.
    pub const ALL: [Rule; 27] = [
        Rule::BoilerplateNames,
        Rule::FurnitureRoles,
        Rule::ProseGuard,
        Rule::CommentSections,
        Rule::Dialogs,
        Rule::SiteFurniture,
        Rule::Landmarks,
        Rule::Hidden,
        Rule::ShopParts,
        Rule::SemanticBonus,
        Rule::DeclaredBody,
        Rule::Headline,
        Rule::PlainFallback,
        Rule::Cards,
        Rule::WidenSections,
        Rule::TailHeadings,
        Rule::TeaserHeadings,
        Rule::RepeatedRuns,
        Rule::FurnitureLabels,
        Rule::Datelines,
        Rule::PostLabels,
        Rule::NoscriptFallback,
        Rule::StructuredBody,
        Rule::UnclosedTitle,
        Rule::CommentStructure,
        Rule::SiblingParts,
        Rule::TeaserCards,
    ];

    /// The rule's name, as `--without` takes it and `--explain` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Rule::BoilerplateNames => "boilerplate-names",
            Rule::FurnitureRoles => "furniture-roles",
            Rule::ProseGuard => "prose-guard",
            Rule::CommentSections => "comment-sections",
            Rule::Dialogs => "dialogs",
            Rule::SiteFurniture => "site-furniture",
            Rule::Landmarks => "landmarks",
            Rule::Hidden => "hidden",
            Rule::ShopParts => "shop-parts",
            Rule::SemanticBonus => "semantic-bonus",
            Rule::DeclaredBody => "declared-body",
            Rule::Headline => "headline",
            Rule::PlainFallback => "plain-fallback",
            Rule::Cards => "cards",
            Rule::WidenSections => "widen-sections",
            Rule::TailHeadings => "tail-headings",
            Rule::TeaserHeadings => "teaser-headings",
            Rule::RepeatedRuns => "repeated-runs",
            Rule::FurnitureLabels => "furniture-labels",
            Rule::Datelines => "datelines",
            Rule::PostLabels => "post-labels",
            Rule::NoscriptFallback => "noscript-fallback",
            Rule::StructuredBody => "structured-body",
            Rule::UnclosedTitle => "unclosed-title",
            Rule::CommentStructure => "comment-structure",
            Rule::SiblingParts => "sibling-parts",
            Rule::TeaserCards => "teaser-cards",
        }
    }

    /// The rule of that name.
    pub fn from_name(name: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.name() == name)
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// Which rules are on: all of them, unless a benchmark run switches some off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    off: u32,
}

impl Default for Rules {
    fn default() -> Self {
        Rules::ALL
    }
}

impl Rules {
    /// Every rule on: what the daemon runs.
    pub const ALL: Rules = Rules { off: 0 };

    /// These rules with `rule` switched off.
    pub fn without(self, rule: Rule) -> Rules {
        Rules {
            off: self.off | rule.bit(),
        }
    }

    /// Whether `rule` is on.
    pub fn on(self, rule: Rule) -> bool {
        self.off & rule.bit() == 0
    }
}

/// A share of a whole, `num/den`, compared in integers so that no rounding moves a cut.
#[derive(Debug, Clone, Copy)]
pub struct Share {
    pub num: usize,
    pub den: usize,
}

impl Share {
    const fn of(num: usize, den: usize) -> Share {
        Share { num, den }
    }

    /// `part` is less than this share of `whole`.
    pub fn below(self, part: usize, whole: usize) -> bool {
        part * self.den < whole * self.num
    }

    /// `part` is at least this share of `whole`.
    pub fn reached(self, part: usize, whole: usize) -> bool {
        !self.below(part, whole)
    }

    /// `part` is more than this share of `whole`.
    pub fn above(self, part: usize, whole: usize) -> bool {
        part * self.den > whole * self.num
    }
}

/// The numbers the extractor compares against, each with the rule or step that uses it.
pub struct Limits {
    /// A block is prose with at least this many characters (whitespace aside)…
    pub prose_chars: usize,
    /// …and links making less than this share of them.
    pub prose_links: Share,
    /// `sibling-parts`: a lead or a closing line is a sentence of at least this many
    /// characters.
    pub sentence_chars: usize,
    /// Core: a block shorter than this, not a heading, is worth -1.
    pub short_block: usize,
    /// Core: a block whose links are more than this share of it is worth minus its linked part.
    pub link_block: Share,
    /// Core: the body keeps a block whose links are at most this share of it.
    pub body_links: Share,
    /// `prose-guard`: a furniture-looking element holding this share of the page's prose is
    /// layout…
    pub guard_share: Share,
    /// …and this share when the headline is outside it (a sidebar of teasers can hold as much
    /// prose as a short article).
    pub guard_share_off_headline: Share,
    /// `hidden`: a hidden part holding this share of the page's prose is a body parked by a
    /// script, and kept.
    pub hidden_keep: Share,
    /// `declared-body`: the declared body must hold this share of the page's prose.
    pub declared_share: Share,
    /// `landmarks`: the one landmark must hold this share of the page's prose.
    pub landmark_share: Share,
    /// `headline`: the headline counts when this share of the page's prose follows it.
    pub headline_after: Share,
    /// `plain-fallback`: the pick is redone without class names when it holds less than this
    /// share of the page's prose.
    pub plain_below: Share,
    /// `comment-sections`: prose outside them that makes an article beside them.
    pub article_elsewhere: usize,
    /// `comment-structure`: signed posts are comments when on average at most this long.
    pub comment_chars: usize,
    /// `comment-sections`: a comment section takes at most this share off its container.
    pub comments_weight: f64,
    /// `tail-headings`: a closing heading counts past this share of the body…
    pub tail_after: Share,
    /// `teaser-headings`: …a teaser heading past this share…
    pub teaser_after: Share,
    /// …and either is a heading shorter than this.
    pub closing_heading_chars: usize,
    /// `repeated-runs`: this many long repeated blocks in a row are a second copy…
    pub repeat_run: usize,
    /// …long being at least this many characters.
    pub repeat_long: usize,
    /// `teaser-cards`: at least this many sibling cards, two thirds of them with a linked
    /// heading, make a run of teasers.
    pub min_teasers: usize,
    /// …each card at most this many characters: a title and an excerpt.
    pub teaser_chars: usize,
    /// `cards`: at least this many siblings of one kind…
    pub min_cards: usize,
    /// …holding at least this many characters each on average.
    pub card_chars: usize,
    /// `furniture-labels`: a label is at most this long.
    pub label_chars: usize,
    /// `datelines`: a date line above the first block this long is furniture…
    pub lead_prose_chars: usize,
    /// …when shorter than this.
    pub dateline_chars: usize,
    /// `post-labels`: a poster's label is at most this long.
    pub post_label_chars: usize,
    /// `structured-body`: the structured body wins over the DOM's text when longer than
    /// twice it plus this.
    pub structured_margin: usize,
}

/// The thresholds in force.
pub const LIMITS: Limits = Limits {
    prose_chars: 80,
    prose_links: Share::of(1, 4),
    sentence_chars: 40,
    short_block: 25,
    link_block: Share::of(1, 2),
    body_links: Share::of(1, 2),
    guard_share: Share::of(4, 10),
    guard_share_off_headline: Share::of(6, 10),
    hidden_keep: Share::of(4, 10),
    declared_share: Share::of(3, 10),
    landmark_share: Share::of(4, 10),
    headline_after: Share::of(1, 4),
    plain_below: Share::of(1, 4),
    article_elsewhere: 300,
    comment_chars: 800,
    comments_weight: 0.5,
    tail_after: Share::of(1, 2),
    teaser_after: Share::of(1, 5),
    closing_heading_chars: 60,
    repeat_run: 3,
    repeat_long: 80,
    min_teasers: 3,
    teaser_chars: 400,
    min_cards: 4,
    card_chars: 25,
    label_chars: 30,
    lead_prose_chars: 100,
    dateline_chars: 150,
    post_label_chars: 64,
    structured_margin: 200,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_is_found_by_its_name_and_can_be_switched_off_alone() {
        for rule in Rule::ALL {
            assert_eq!(Rule::from_name(rule.name()), Some(rule));
            let rules = Rules::ALL.without(rule);
            assert!(!rules.on(rule));
            assert!(
                Rule::ALL
                    .iter()
                    .filter(|&&r| r != rule)
                    .all(|&r| rules.on(r))
            );
        }
        assert_eq!(Rule::from_name("no-such-rule"), None);
    }
}
