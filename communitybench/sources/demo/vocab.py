"""Vocabulary and sentence templates for the demo forum (see `communitybench.demo_forum`).

Each community owns its topics, practices, stances, catchphrases and problems, so that a
member's comments, embedded with a sentence model, sit near the other members of the same
community and away from the neighbouring communities of the same subreddit. Templates are
shared by everyone; only the slot fillers are community-specific. The word lists live in one
compact text block (`POOL`) so that this data module stays short.
"""

from __future__ import annotations

import numpy as np

SPAM_BOT = "deal_alerts_bot"
SPAM_BODY = (
    "HUGE FLASH SALE!!! Up to 80% off top brands today only at bestdeals-outlet.example - "
    "use code SAVE80 before it expires. Click the link in my profile!"
)
AUTOMOD_COMMENT = (
    "Reminder from the r/{sub} moderators: be kind, stay on topic and read the rules in the "
    "sidebar before commenting. Comments that break the rules will be removed.\n\n*I am a bot, "
    "and this action was performed automatically. Please contact the moderators of this "
    "subreddit if you have any questions or concerns.*"
)
AUTOMOD_TITLE = "Weekly questions thread ({date})"
AUTOMOD_SELFTEXT = (
    "Welcome to the weekly questions thread for r/{sub}. Ask anything, no question is too "
    "small. Please read the rules in the sidebar before posting."
)
NOT_JSON_LINE = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


def _split(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split("|"))


def _parse_pool(text: str) -> dict[str, dict]:
    """Reads POOL: "@name id theme" opens a subreddit, "#name theme" one of its communities,
    "field: a|b|c" fills the open one; a line starting with a space continues the line above."""
    lines: list[str] = []
    for raw in text.strip().splitlines():
        if raw.startswith(" "):
            lines[-1] += raw
        else:
            lines.append(raw)
    pool: dict[str, dict] = {}
    for line in lines:
        if line.startswith("@"):
            name, subreddit_id, theme = line[1:].split(" ", 2)
            sub = pool[name] = {"subreddit_id": subreddit_id, "theme": theme, "communities": {}}
        elif line.startswith("#"):
            name, theme = line[1:].split(" ", 1)
            comm = sub["communities"][name] = {"theme": theme}
        else:
            key, items = line.split(": ", 1)
            (sub if key == "shared" else comm)[key] = _split(items)
    return pool


# The pool: five subreddits, of which a seed picks three. Each has 3-4 communities, so any three
# give at least 9. Per community: topics, practices (verb phrases), stances (clauses),
# catchphrases and problems; "shared" words belong to the whole subreddit.
POOL = """
@cooking t5_2qh7f home cooking
shared: the recipe|my kitchen|a weeknight dinner|the grocery run|the stovetop|leftovers|a good
 chef's knife|the spice rack
#budget_meal_preppers budget meal preppers who batch-cook cheap, repeatable lunches
topics: a big batch of rice and beans|bulk chicken thighs|the Sunday prep session|cheap dried
 lentils|a stack of glass containers|the per-serving cost|frozen vegetables|a slow cooker chili|the
 weekly grocery budget|a sheet-pan dinner|store-brand staples|the freezer inventory|overnight
 oats|a five-dollar lunch
practices: prep five lunches every Sunday|buy rice and oats in bulk|price out every meal per
 serving|freeze half of every batch|plan the menu around weekly sales|cook one protein two
 ways|portion everything into containers right away|shop with a strict list|repurpose leftovers
 into burritos|track the food budget in a spreadsheet
stances: eating the same lunch all week is a feature, not a bug|a meal that costs more than three
 dollars a serving is a treat|the freezer is the most underrated appliance you own|bulk dried beans
 beat canned on price every time|fancy ingredients are how grocery budgets die
phrases: cost per serving is king|prep once, eat all week|beans and rice, baby|your freezer is your
 friend|boring food, full wallet
problems: soggy reheated rice|food fatigue by Thursday|freezer burn|a blown grocery budget|wilted
 vegetables by midweek|wasted leftovers
#sourdough_bakers sourdough bakers obsessed with starters, hydration and crumb
topics: an active starter|the levain build|a 78 percent hydration dough|the bulk fermentation|an
 open crumb|a Dutch oven bake|stretch and folds|the banneton|a cold overnight retard|the oven
 spring|whole wheat flour|a sharp lame score|the ear on the loaf|rye starter discard
practices: feed the starter at a one to five to five ratio|watch the dough instead of the clock|do
 four sets of stretch and folds|retard the shaped loaf in the fridge overnight|preheat the Dutch
 oven for a full hour|score the loaf at a shallow angle|use the float test on the levain|build a
 stiff levain|autolyse the flour for an hour|bake until the crust is deeply caramelized
stances: a long cold retard beats any commercial yeast shortcut|hydration numbers mean nothing
 unless you judge the dough by feel|underproofing ruins more loaves than anything else|a mature
 starter matters more than fancy flour|bread made with commercial yeast is just not the same
phrases: crumb shot or it didn't happen|trust the dough, not the clock|bake it darker|feed your
 starter|happy baking, friends
problems: a gummy crumb|a flat loaf with no oven spring|a sluggish starter|big tunnels under the
 crust|a dough that spreads like a pancake|a pale crust
#vegan_home_cooks vegan home cooks building flavour from plants
topics: extra firm tofu|nutritional yeast|a cashew cream sauce|smoked tempeh|aquafaba meringue|miso
 and tahini dressings|a plant-based protein bowl|chickpea flour omelettes|soaked raw
 cashews|mushroom umami|coconut milk curry|flax eggs|seitan from vital wheat gluten|a lentil
 bolognese
practices: press the tofu for twenty minutes|blend soaked cashews into a cream|add miso for
 depth|marinate the tempeh overnight|swap eggs for flax|roast chickpeas until crispy|season with
 nutritional yeast|build umami with mushrooms and soy sauce|whip aquafaba into stiff peaks|batch
 cook seitan for the week
stances: plant food is only bland when it is under-seasoned|you never need fake meat to eat well as
 a vegan|cashew cream does everything dairy cream does|tofu gets a bad reputation because people
 never press it|animal products are simply not necessary in a great kitchen
phrases: plants can do it all|press your tofu|umami is everything|no animals needed|go heavy on the
 garlic
problems: soggy tofu|a bland lentil stew|a grainy cashew sauce|rubbery seitan|egg-free bakes that
 fall apart|a lack of plant protein
#cast_iron_grillers cast-iron and live-fire cooks chasing sear and smoke
topics: a well-seasoned cast iron skillet|the reverse sear|a charcoal chimney|a thick ribeye|the
 Maillard crust|a brisket stall|hickory smoke|a two-zone fire|the probe thermometer|flaxseed oil
 seasoning|a carbon steel pan|smash burgers|dry brining overnight|a pork butt on the smoker
practices: dry brine the steak overnight|set up a two-zone fire|preheat the skillet until it
 smokes|season the pan with a thin coat of oil|wrap the brisket in butcher paper|pull the meat five
 degrees early|rest the steak before slicing|use a probe thermometer every time|smash the patties
 hard on the griddle|scrub the skillet with coarse salt
stances: a thermometer matters more than any grill you can buy|you can absolutely use soap on cast
 iron|charcoal flavor beats gas every time|the reverse sear is the most foolproof way to cook a
 thick steak|low and slow is the only honest barbecue
phrases: cook to temp, not time|low and slow|sear it hard|cast iron for life|let it rest
problems: a gray band under the crust|rust on the skillet|a dry brisket|sticky seasoning|flare-ups
 on the grill|uneven heat in the pan
@running t5_2qhgy running
shared: my training log|the weekly mileage|a rest day|my running shoes|the long run|race day|a foam
 roller|the local running club
#ultramarathoners ultramarathoners living on long trail miles, vert and aid stations
topics: a 100 mile mountain race|back-to-back weekends in the mountains|the aid station
 quesadillas|vertical gain on switchbacks|a hydration vest|a night section with a headlamp|time on
 feet|real food in the wilderness|the low point at three in the morning|trekking poles on the
 climbs|a drop bag plan|rocky single track|a pacer for the last thirty miles|blisters at mile
 sixty
practices: hike every climb with poles|eat real food every forty minutes|spend whole weekends in
 the mountains|practice with the hydration vest|pack a spare headlamp in the drop bag|tape hot
 spots before they blister|start the first fifty miles embarrassingly slow|train on rocky
 trails|keep moving through the aid stations|recruit a crew and a pacer
stances: an ultra is an eating contest with some scenery on the side|pace means nothing in the
 mountains, effort does|walking the climbs is a legit race strategy|the mind quits long before the
 legs do|road marathons are just speed work for the mountains
phrases: relentless forward progress|beware the chair|hike the ups|it never always gets worse|see
 you at the finish arch
problems: nausea at mile seventy|a bonk between aid stations|blisters|quads shredded on the
 descents|a missed cutoff|hallucinations from sleep deprivation
#couch_to_5k couch-to-5k beginners building a habit and celebrating small wins
topics: the couch to 5K app|week five day three|the first twenty minute jog|walk-jog
 intervals|feeling self-conscious in public|my first parkrun|shin splints|losing the first ten
 pounds|the three sessions a week schedule|side stitches|a confidence boost|the first non-stop
 mile|a gentle beginner plan|the graduation day
practices: repeat a week when it feels too hard|slow down until you can talk|run three times a
 week|take the rest days seriously|get fitted for shoes at a running store|celebrate every finished
 session|walk when you need to|start with short intervals|stretch gently after each run|sign up for
 a local parkrun
stances: there is no such thing as too slow when you are starting out|repeating a week is not
 failing|finishing the session matters more than pace|every beginner gets shin pain if they
 rush|anyone who runs is a runner
phrases: slow is fine|you've got this|one run at a time|just keep showing up|proud of you
problems: shin splints|side stitches|feeling out of breath after a minute|lost motivation in week
 four|knee pain|dread before the long intervals
#marathon_pr_chasers road marathoners chasing personal records with structured speedwork
topics: a sub three hour marathon|tempo pace at six forty per mile|lactate threshold|VO2 max
 intervals|carbon plated super shoes|a negative split|the three week taper|the Pfitzinger 18/70
 plan|goal pace splits|a Boston qualifying time|400 meter repeats on the track|the Garmin heart rate
 data|gels every five miles|the race predictor on my watch
practices: keep eighty percent of the mileage easy|do threshold intervals once a week|taper for
 three weeks|take a gel every five miles|hit goal pace splits in the workouts|race in carbon plated
 super shoes|go out slightly slower than goal pace|train by heart rate zones|add strides twice a
 week|follow a structured eighteen week block
stances: easy days have to be truly easy for the workouts to work|super shoes are worth a few
 minutes over 26.2|a negative split is the only smart way to race|a structured block beats junk
 miles every time|the taper is where the race is won
phrases: easy days easy, hard days hard|trust the taper|negative split or bust|chase the PR|the data
 does not lie
problems: the wall at mile twenty|a blown-up pace in the second half|overtraining|a stalled PR|calf
 cramps at mile twenty two|a flat taper
@personalfinance t5_2qstm personal finance
shared: the budget|my paycheck|an emergency fund|the bank account|monthly expenses|a credit
 score|tax season|retirement
#fire_savers FIRE savers chasing a high savings rate and early retirement
topics: a fifty percent savings rate|the FIRE number|quitting the job at forty|coast FIRE|lean FIRE
 on a tiny budget|slow travel in early retirement|geographic arbitrage abroad|barista FIRE with a
 part-time gig|the last day at the office|a paid off van for road trips|free hobbies like
 hiking|living on half the salary|the early retirement calculator|mini retirements between jobs
practices: live on half of the paycheck|calculate the FIRE number from yearly spending|keep the
 savings rate above fifty percent|move somewhere with a lower cost of living|house hack with a
 roommate|quit the job once the number is hit|plan a year of slow travel|take a mini retirement
 between jobs|pick free hobbies over expensive ones|count the hours of work behind every purchase
stances: every dollar you spend today costs you twenty five dollars of freedom later|the savings
 rate matters far more than salary|working until sixty five is optional|time freedom beats any
 luxury purchase|retiring at forty is realistic on a normal salary
phrases: savings rate is everything|freedom over stuff|fire the boss|FIRE is a mindset|buy your
 time back
problems: lifestyle creep|a low savings rate|boredom after quitting|health insurance before sixty
 five|a spouse who is not on board|one more year syndrome
#debt_payoff debt payoff warriors following the baby steps and the debt snowball
topics: the debt snowball|a baby emergency fund|credit card balances|a zero based budget|the cash
 envelope system|student loans|a car loan|the debt free scream|a 23 percent interest rate|minimum
 payments|beans and rice budget months|a side hustle|the payoff spreadsheet|collection accounts
practices: pay off the smallest balance first|cut up every credit card|use cash envelopes for
 groceries|build a thousand dollar starter fund|take a side hustle until the debt is gone|call the
 card company to negotiate the rate|write a zero based budget every month|sell the car with a
 payment|stop using credit entirely|throw every windfall at the debt
stances: debt is never a tool, it is a trap|the snowball works because it is about behavior, not
 math|credit cards should be cut up, not managed|a car payment is the fastest way to stay broke|you
 cannot invest your way out of bad debt
phrases: debt free is the goal|gazelle intensity|cash is king|live like no one else|one payment at
 a time
problems: maxed out credit cards|a car payment that eats the budget|collections calls|overdraft
 fees|a slide back into debt|the minimum payment trap
#bogleheads Boglehead index investors who keep it simple with low-cost funds
topics: a three fund portfolio|the expense ratio|a total market index fund|international
 diversification|the bond allocation|an annual rebalance|target date funds|dollar cost averaging|a
 lump sum investment|tax loss harvesting|asset location|the investment policy statement|actively
 managed funds|market timing
practices: buy a total market index fund|rebalance once a year|keep expense ratios under point one
 percent|hold bonds in the tax advantaged account|ignore the financial news|write an investment
 policy statement|invest a lump sum right away|harvest tax losses in a downturn|pick a target date
 fund and forget it|stay diversified internationally
stances: nobody can time the market, so do not try|costs are the only thing an investor controls|a
 three fund portfolio beats almost every active manager|stock picking is gambling with extra
 steps|boring investing is good investing
phrases: stay the course|buy the haystack|costs matter|don't just do something, stand there|keep it
 simple
problems: high expense ratios|panic selling in a crash|performance chasing|overlapping funds|a
 messy allocation|too much cash on the sidelines
@gardening t5_2qhxy gardening
shared: the garden|my backyard|the growing season|the potting soil|the compost pile|the watering
 can|the last frost date|the seed catalog
#native_rewilders native plant rewilders replacing lawns with habitat for pollinators
topics: native wildflowers|a pollinator meadow|milkweed for monarchs|the lawn removal|the fallen
 leaves|native bees|host plants for caterpillars|a rain garden|invasive species|sheet mulching|the
 local ecotype|bird habitat|no mow May|a keystone oak tree
practices: replace part of the lawn with native plants|leave the leaves in the fall|plant milkweed
 for the monarchs|pull invasive species by hand|sheet mulch with cardboard|buy plants of the local
 ecotype|skip pesticides entirely|leave the stems standing over winter|plant a keystone oak|build a
 rain garden for runoff
stances: a lawn is an ecological desert|native plants support far more insects than
 ornamentals|messy gardens are better habitat|pesticides have no place in a wildlife garden|every
 yard can be a piece of a habitat corridor
phrases: leave the leaves|plant native|lawns are deserts|let it get messy|for the pollinators
problems: an HOA complaint|invasive bindweed|a bare lawn with no insects|seedlings eaten by
 deer|aggressive natives spreading|slow establishment
#balcony_container balcony and container gardeners growing in pots in small city spaces
topics: a south facing balcony|self watering pots|fabric grow bags|vertical wall planters|a chunky
 potting mix|herbs in window boxes|trailing petunias|a railing planter|LED grow lights
 indoors|terracotta pots|succulents on the ledge|hanging baskets|the wind on the tenth
 floor|houseplants on the windowsill
practices: use a chunky potting mix instead of garden soil|drill extra drainage holes in every
 pot|water the pots every morning in summer|repot into a size bigger each spring|feed with liquid
 fertilizer every two weeks|cluster the pots to keep humidity up|strap the planters to the
 railing|rotate the pots toward the sun|run LED grow lights over the herbs in winter|check the
 weight limit of the balcony
stances: you do not need a yard to have a real garden|bigger pots always beat more pots|self
 watering pots are worth every penny|drainage matters more than anything else in a container|a tiny
 apartment balcony can be a jungle
phrases: bigger pots|small space, big green|drainage first|no yard needed|pot it up
problems: root rot from poor drainage|pots drying out by noon|wind damage on the balcony|leggy
 herbs|fungus gnats|a landlord who hates planters
#veggie_yield vegetable growers maximizing harvest from raised beds and tomatoes
topics: raised beds|heirloom tomatoes|succession planting|the soil test|crop rotation|drip
 irrigation|square foot gardening|tomato cages|seed starting indoors|blight resistant
 varieties|nitrogen fertilizer|a cold frame|the harvest weight log|companion planting
practices: get a soil test every spring|start seeds indoors eight weeks before frost|rotate crops
 every season|prune tomato suckers|set up drip irrigation on a timer|succession plant lettuce every
 two weeks|side dress with compost|mulch the beds heavily|weigh every harvest|extend the season
 with a cold frame
stances: soil health is the foundation of every big harvest|heirloom flavor is worth the lower
 yield|pruning tomatoes doubles the usable fruit|drip irrigation beats hand watering every time|you
 should plan the beds on paper before you plant
phrases: feed the soil|test, don't guess|more tomatoes|succession is the secret|grow your own
problems: early blight on the tomatoes|blossom end rot|poor germination|bolting lettuce|a small
 harvest|nitrogen deficiency
@boardgames t5_2qmjp board games
shared: game night|the rulebook|the game shelf|my gaming group|the box insert|a new expansion|the
 table|a first play
#heavy_euro heavy euro strategy gamers who love deep engine building
topics: worker placement|an engine building game|a three hour economic game|the resource conversion
 chain|Brass Birmingham|analysis paralysis|the victory point salad|heavy Eurogames|an optimal
 opening|the BoardGameGeek weight rating|Terraforming Mars|a tight economy|long-term
 planning|multiple paths to victory
practices: teach the scoring first|plan three turns ahead|play the game at least five times before
 judging it|track every resource carefully|read the full rulebook twice|optimize the opening
 moves|limit table talk during turns|use a timer for slow players|play at the full player
 count|study strategy threads after each game
stances: a game only gets good after the fifth play|luck has no place in a great strategy
 game|heavy games reward patience like nothing else|player interaction through the economy is
 enough|analysis paralysis is a price worth paying for depth
phrases: more depth, please|efficiency is everything|engines go brr|point salad forever|heavier is
 better
problems: analysis paralysis|a runaway leader|a rules mistake that breaks the economy|a four hour
 teach|an unbalanced opening|players dropping out
#party_hosts party game hosts running light, social games for big groups
topics: Codenames|a hidden role game|a big group of ten|social deduction|a birthday party
 crowd|drawing games|icebreakers for strangers|non-gamer friends|a loud party night|friends who
 never play board games|bluffing|laughs and inside jokes|snacks and drinks|a twenty minute filler
practices: keep the rules under five minutes|start with a quick team game|pick games that scale to
 ten players|let newcomers win the first round|play a warm-up filler|mix up the teams each
 round|explain by playing an open round|keep the snacks far from the cards|end on a high
 note|choose games with no downtime
stances: a game is only good if everyone is laughing|rules that take more than five minutes to
 teach kill the mood|social games beat strategy games for real friendship|winning does not matter
 at a party table|everyone should be playing at the same time
phrases: keep it light|the more the merrier|laughs over points|one more round|nobody likes downtime
problems: a quiet table|newcomers feeling lost|one player dominating|long downtime|awkward
 bluffing|a teach that drags on
#solo_wargamers solo and wargame players who love miniatures, campaigns and automa
topics: the solo automa|hex and counter wargames|painted miniatures|a campaign game|Spirit Island
 solo|the combat results table|a dungeon crawler|terrain building|historical scenarios|Mage
 Knight|the priming coat|a legacy campaign|line of sight rules|two-handed solo play
practices: prime the miniatures before painting|play two-handed to learn the rules|track the
 campaign in a notebook|learn one scenario at a time|build terrain from foam board|use the automa
 for solo practice|wash the minis with dark ink|sleeve the campaign cards|keep a dedicated table
 for long scenarios|read the designer notes
stances: solo gaming is a legit hobby, not a fallback|painted miniatures make any game twice as
 good|a good campaign beats any one-shot game|historical wargames teach more than history books|an
 automa is better than a bored opponent
phrases: paint your minis|solo is the best player count|one more scenario|roll the dice|the
 campaign continues
problems: a pile of unpainted minis|a ruleset with huge ambiguity|no space for a long setup|an
 overpowered automa|campaign burnout|fiddly upkeep
"""
SUBREDDITS: dict[str, dict] = _parse_pool(POOL)

OPENERS = {
    "pos": _split(
        "Great question!|Love this thread.|Happy to help with this one.|Nice, congrats "
        "on getting started.|This is a fun one.|Oh, I love this topic."
    ),
    "neg": _split(
        "Ugh, I have been there and it is frustrating.|Honestly, I disagree with most "
        "of the advice here.|Sorry, but this is a bad idea.|Not a fan of the usual "
        "answer here.|This drives me nuts.|Yikes, that sounds painful."
    ),
    "neu": _split(
        "A few thoughts.|Depends on your situation.|Quick note from experience.|Here "
        "is what I do.|Two things to check.|Short answer: it varies."
    ),
}
SENTENCES = {
    "pos": _split(
        "I always {practice}, and {topic} made the biggest difference for me.|Once I started "
        "to {practice}, {problem} basically disappeared.|{Stance}, and I will happily die on "
        "that hill.|Honestly {topic} is the best thing that happened to {shared} this year, "
        "because {stance}.|You are on the right track, just {practice} and keep an eye on "
        "{topic}.|I love how {topic} turned out after I learned to {practice}.|Switching to "
        "{topic} was a great call, and {topic2} got easier too.|Big fan of {topic}: {stance}."
    ),
    "neg": _split(
        "I tried to {practice} for months and still got {problem}, so I am skeptical.|{Topic} "
        "was a total waste for me and only led to {problem}.|People overhype {topic}, the "
        "real issue is {problem}.|Hard disagree with the other replies, because {stance}.|If "
        "you do not {practice}, you will keep fighting {problem} and it is miserable.|I hate "
        "that everyone ignores {topic} until {problem} shows up.|Worst mistake I made was "
        "ignoring {topic}, and {problem} followed fast.|Sorry, but skipping {topic} is how "
        "you end up with {problem}."
    ),
    "neu": _split(
        "It depends on {topic} more than on {shared}.|Most people here {practice}, and that "
        "usually handles {problem}.|Check {topic} first, then decide whether to {practice}.|"
        "For context, {stance}.|I would compare {topic} and {topic2} side by side before "
        "changing anything.|Some folks {practice} and others prefer {topic2}, both can work.|"
        "A common approach is to {practice} and see how {topic} responds over a few weeks.|"
        "The usual advice is to {practice}, since {stance}."
    ),
}
CLOSERS = _split(
    "Good luck!|Hope that helps.|Just my two cents.|Report back how it goes.|Happy "
    "to answer questions.|YMMV."
)
TITLES = _split(
    "How do you {practice} without ending up with {problem}?|Is {topic} worth it, or am I "
    "overthinking this?|Struggling with {problem}, what am I doing wrong?|What changed the most "
    "once you started to {practice}?|{Topic} or {topic2}: which one should I focus on?|Anyone "
    "else dealing with {problem}?|Best way to get started with {topic}?"
)
CONTEXTS = _split(
    "I have been trying to {practice} for a few weeks, but I keep running into {problem}.|"
    "Background: {topic} has been my focus lately and {shared} feels like a mess.|Everyone "
    "keeps saying {stance}, but I am not sure it applies to me.|Recently switched to {topic} "
    "after a rough stretch with {problem}."
)
ASKS = _split(
    "Any advice?|What would you do?|What am I missing?|Would love to hear how you "
    "handle it.|Thanks in advance!"
)

NAME_ADJECTIVES = _split(
    "quiet|brave|lazy|sunny|rusty|clever|salty|gentle|happy|grumpy|sleepy|curious|dusty|fuzzy|"
    "humble|jolly|lucky|mellow|nimble|proud|rapid|silent|tidy|witty|bold|calm|eager|frosty|"
    "golden|hidden|lively|misty|noisy|polite|quick|shy|steady|wild|cosmic|velvet"
)
NAME_NOUNS = _split(
    "otter|falcon|maple|pebble|badger|comet|walrus|heron|tulip|lantern|panda|cactus|biscuit|"
    "river|harbor|marmot|pickle|thistle|raven|acorn|beagle|canyon|dolphin|ember|ferret|glacier|"
    "hedgehog|island|koala|lemur|meadow|nugget|orchid|parrot|quokka|spruce|toucan|willow|yak|"
    "zephyr"
)


def _pick(rng: np.random.Generator, items: tuple[str, ...]) -> str:
    return items[int(rng.integers(len(items)))]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def make_username(rng: np.random.Generator) -> str:
    """One plausible Reddit username; callers enforce uniqueness."""
    adj, noun = _pick(rng, NAME_ADJECTIVES), _pick(rng, NAME_NOUNS)
    style = int(rng.integers(6))
    if style == 0:
        return f"{adj}_{noun}_{rng.integers(10, 100)}"
    if style == 1:
        return f"{_cap(adj)}{_cap(noun)}{rng.integers(1, 1000)}"
    if style == 2:
        return f"{noun}-{adj}"
    if style == 3:
        return f"{adj}{noun}{rng.integers(1970, 2008)}"
    if style == 4:
        return f"the_{adj}_{noun}"
    return f"{_cap(noun)}_{_cap(adj)}_{rng.integers(1, 10)}"


def _slots(rng: np.random.Generator, voice: dict) -> dict:
    """Fill every template slot: mostly community words, `shared` from the subreddit."""
    comm = voice["community"]
    topics = comm["topics"]
    favs = voice["favorites"]
    topic = topics[favs[int(rng.integers(len(favs)))]] if rng.random() < 0.4 else _pick(rng, topics)
    stance = _pick(rng, comm["stances"])
    return {
        "topic": topic,
        "Topic": _cap(topic),
        "topic2": _pick(rng, topics),
        "practice": _pick(rng, comm["practices"]),
        "problem": _pick(rng, comm["problems"]),
        "stance": stance,
        "Stance": _cap(stance),
        "shared": _pick(rng, voice["shared"]),
    }


def compose_comment(rng: np.random.Generator, voice: dict, sentiment: str) -> str:
    """A comment of 60-600 characters in the voice of one member.

    Args:
        rng: The generator to draw from.
        voice: {"community": vocab dict, "shared": subreddit words, "favorites": topic indices}.
        sentiment: "pos", "neg" or "neu"; a fifth of the sentences drift to neutral.
    """
    parts = [_pick(rng, OPENERS[sentiment])] if rng.random() < 0.35 else []
    used: set[str] = set()
    for _ in range(int(rng.integers(1, 4))):
        mood = sentiment if rng.random() < 0.8 else "neu"
        template = _pick(rng, SENTENCES[mood])
        if template not in used:  # one template at most once per comment
            used.add(template)
            parts.append(template.format(**_slots(rng, voice)))
    if rng.random() < 0.5:
        phrase = _pick(rng, voice["community"]["phrases"])
        parts.append(_cap(phrase) + "." if rng.random() < 0.75 else _pick(rng, CLOSERS))
    while len(" ".join(parts)) < 60:
        parts.append(_pick(rng, SENTENCES[sentiment]).format(**_slots(rng, voice)))
    while len(" ".join(parts)) > 600 and len(parts) > 1:
        parts.pop(0)
    return " ".join(parts)


def compose_thread(rng: np.random.Generator, voice: dict) -> tuple[str, str]:
    """A (title, selftext) pair that asks the community something."""
    title = _pick(rng, TITLES).format(**_slots(rng, voice))
    body = [_pick(rng, CONTEXTS).format(**_slots(rng, voice))]
    if rng.random() < 0.6:
        body.append(_pick(rng, SENTENCES["neu"]).format(**_slots(rng, voice)))
    body.append(_pick(rng, ASKS))
    return title, " ".join(body)
