"""The understanding stage: a Message (and the conversation so far) -> a Route.

It decides, in this order: the intent (the intent model on what is asked, or on what a follow-up
carried), the safety conditions stated now and earlier, whether the guides cover the question
(scope), the route (safety, retrieval, abstain, small talk) and the answer's intent. A message
asking several things has each part understood here, once. What the program needs to know about
an intent is its role in data/intents.toml, never its name.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from assistant.config import Config
from assistant.conversation import Conversation
from assistant.index import Index
from assistant.message import (Message, asking_clauses, asks_anything, clauses_by_person, names_an_adult, read_message,
                               speaks_of_someone_else, without_areas)
from assistant.router import Intents
from assistant.safety import VERDICT_ORDER, SafetyRules
from assistant.safety import stated as stated_now  # the mentions that state a condition now
from assistant.schema import Route, RuleMatch
from assistant.scope import load_scope_model
from assistant.withdrawal import load_withdrawal_model

# the route a question takes (schema.Route.route)
SAFETY, RETRIEVAL, ABSTAIN, SMALLTALK = "safety", "retrieval", "abstain", "smalltalk"


@dataclass(frozen=True)
class Prediction:
    """What the intent model says of a question, and what it carried from the conversation."""

    intent: str
    confidence: float
    out_of_scope: float  # the probability of the out-of-scope intent
    carried: str
    small_talk: float = 0.0  # the probability of small talk


class Understander:
    """Routes messages with the index's intent model, the safety rules and the scope decision."""

    def __init__(self, index: Index, intents: Intents, safety: SafetyRules, config: Config):
        self.index = index
        self.intents = intents
        self.safety = safety
        self.config = config
        self.out_of_scope = intents.role("not_covered")
        self.smalltalk = intents.role("small_talk")
        self.vague = intents.role("vague")
        self.safety_question = intents.role("safety_question")
        self._domain_terms: frozenset[str] | None = None
        # the learned scope decision (data/scope.json), when there is one and it is switched on
        self.scope = load_scope_model() if config.router_learned_scope else None
        self.scope_coef = self.scope.aligned(index.router.vocabulary_) if self.scope else None
        self._reply_examples: list[tuple[str, dict[int, float]]] | None = None

    def understand(self, message: Message, conversation: Conversation | None = None) -> Route:
        """The route of a message, with its parts' routes when it asks several things."""
        route = self.route_one(message, conversation)
        return replace(route, parts=self.parts(message, route)) if message.parts else route

    def route_one(self, message: Message, conversation: Conversation | None) -> Route:
        cfg = self.config
        mentioned = self.safety.mentions(message.text)
        stated = stated_now(mentioned)
        first = self.first_guess(message)
        own_topic = conversation is not None and self.asks_own_topic(message, first, conversation)
        leans = bool(conversation) and conversation.leans_on_topic(message, bool(stated), cfg)
        carried = conversation.follow_up_of(message, bool(stated), own_topic, cfg) if conversation else ""
        if leans and own_topic and not carried and not self.index.query_ids(message.text):
            # "ok and after, anything he should do": nothing of its own to search with but the topic
            carried = conversation.state.topic.question
        predicted = self.predict(message, carried, first, asks_own=own_topic)
        # the story around a question still counts for retrieval (its words weigh half as much)
        query = f"{carried} {message.text}" if carried else (
            message.text if not message.focus else f"{message.focus} {message.text}")
        top_score = self.index.best_lexical(query)
        if conversation and not carried and self.reads_with_topic(message, conversation, first, top_score):
            carried = conversation.state.topic.question
            predicted = self.predict(message, carried, first)
            query = f"{carried} {message.text}"
            top_score = self.index.best_lexical(query)
        intent = predicted.intent
        confident = predicted.confidence >= cfg.router_min_confidence
        if not confident and not self.intents.has_role(intent, "not_covered", "small_talk"):
            intent = self.vague
        spec = self.intents.get(intent)
        sense = spec.sense_of(f"{carried} {message.asked}") if spec else None
        state = self.next_state(message, conversation, mentioned) if conversation else None
        in_force = state.in_force() if state else []
        named_now = {r.id for r in stated}
        held = [r for r in in_force if r.id not in named_now]
        # in a conversation, the conditions of the person the question is about (and any asked about)
        rules = [r for r in in_force if r.id in named_now] + [
            r for r in stated if r.status == "hypothetical" or r.scope == "request"] if state else stated
        # a sign-off naming a condition already held ("ok, we'll wait for the fracture clinic. cheers") tells nothing new
        held_before = conversation.in_force() if conversation else set()
        tells_new = not conversation or any(r.id not in held_before or r.status == "hypothetical"
                                            or r.scope == "request" for r in rules)
        decision = self.decide(message, query, intent, predicted, rules, top_score, leans,
                               talking=bool(conversation and conversation.state.topic.question), tells_new=tells_new)
        if decision == RETRIEVAL and self.intents.has_role(intent, "not_covered", "small_talk"):
            intent = self.vague
        answer_intent = self.answer_intent(message, intent, predicted, rules) if decision != ABSTAIN else (
            self.out_of_scope if rules else intent)
        if held and decision in (RETRIEVAL, SAFETY):
            # conditions mentioned earlier in the conversation stay in force for in-scope questions
            decision, rules = SAFETY, sorted(rules + held, key=lambda r: VERDICT_ORDER[r.verdict])
        else:
            held = []
        states_only = self.intents.has_role(answer_intent, "safety_question") and bool(state and state.topic.question)
        if state is not None and decision in (RETRIEVAL, SAFETY) and not states_only:
            area = message.areas[-1] if message.areas else (state.topic.area if carried else "")
            state = Conversation.with_topic(state, f"{carried} {message.asked}".strip(), answer_intent, area)
        return Route(message.text, answer_intent, predicted.confidence, decision, tuple(rules), top_score, carried,
                     message.focus, tuple(r.id for r in held), sense.name if sense else "",
                     query=query, lift_intent=intent if confident else "",
                     faq_text=f"{carried} {message.asked}".strip(),
                     reply=self.reply_kind(message, predicted) if decision == SMALLTALK else "",
                     person=state.person if state else "", state=state,
                     read_as=decision == RETRIEVAL and top_score < cfg.router_abstain_score)

    def asks_own_topic(self, message: Message, first: Prediction, conversation: Conversation) -> bool:
        """Whether a follow-up asks something of its own (besides the area it names), which replaces
        the topic; one stating a condition does not, nor one asking what the topic asked ("what about
        for sensitive skin?" after an oil question)."""
        if first.confidence < self.config.router_topic_confidence or first.intent == conversation.state.topic.intent:
            return False
        if self.intents.has_role(first.intent, "vague", "not_covered", "small_talk", "safety_question"):
            return False
        return not message.areas or bool(self.index.analyzer.terms(without_areas(message.asked)))

    def next_state(self, message: Message, conversation: Conversation, mentioned: list[RuleMatch]):
        """The conversation's slots once this message is read (the conversation itself is not changed).
        `mentioned`: the whole message's mentions, which are its one sentence's when it has one."""
        person = conversation.person_of(message)
        units = [c for s in (message.sentences or (message.text,)) for c in clauses_by_person(s, message.receives)]
        said = [(message.text, mentioned)] if len(units) == 1 else [(u, self.safety.mentions(u)) for u in units]
        # data/withdrawal.json (read when a conversation first holds a condition): a message taking one back
        withdrawal = load_withdrawal_model() if conversation.state.conditions else None
        # a confirming result ("came back positive") shares a clearing one's words: never a withdrawal
        # ...read on the whole message and on each of its sentences that asks nothing: the news is told, not asked
        # ("ok i took her temperature again and it's normal now. how long should i massage her back?")
        told = [s for s in message.sentences if len(message.sentences) > 1 and not asks_anything(s)
                and not speaks_of_someone_else(s, person)]
        withdraws = (withdrawal is not None
                     and any(withdrawal.withdraws(self.index.analyzer.stem_sequence(t)) for t in [message.text, *told])
                     and not self.safety.confirmation_said(message.text))
        # a sentence taking back a condition names it ("the allergy test was clear"): those it names are taken back
        taken_back = {r.id for unit, rules in said if rules and withdraws
                      and withdrawal.probability(self.index.analyzer.stem_sequence(unit)) >= self.config.conversation_take_back_named
                      and not self.safety.confirmation_said(unit) for r in rules} if withdrawal is not None else set()
        return conversation.next_state(message, person, said, self.safety.recovery_said(message.text), withdraws,
                                       frozenset(taken_back))

    def reads_with_topic(self, message: Message, conversation: Conversation, first: Prediction,
                         top_score: float) -> bool:
        """Mid-conversation, a question the guides' words do not meet ("so what should i actually
        do") is read with the topic in hand rather than refused, unless it names or is taken for a
        topic they do not cover."""
        return (bool(conversation.state.topic.question) and top_score < self.config.router_abstain_score
                and message.asks and not self.names_out_of_scope(message)
                and not self.intents.has_role(first.intent, "not_covered"))

    def first_guess(self, message: Message) -> Prediction:
        intent, confidence, others = self.index.router.predict_with(message.asked, self.out_of_scope, self.smalltalk,
                                                                    also=asking_clauses(message.asked))
        return Prediction(intent, confidence, others[0], "", others[1])

    def predict(self, message: Message, carried: str, first: Prediction, asks_own: bool = True) -> Prediction:
        """The intent of what is asked; a follow-up the model cannot place, or one naming only another
        area ("what about her neck?" after "how long..."), is read with what it carried."""
        unsure = (self.intents.has_role(first.intent, "vague", "not_covered", "small_talk")
                  or first.confidence < self.config.router_min_confidence)
        if carried and (unsure or (message.areas and not asks_own)):
            intent, confidence = self.index.router.predict(f"{carried} {message.text}")
            return Prediction(intent, confidence, first.out_of_scope, carried, first.small_talk)
        return replace(first, carried=carried)

    def decide(self, message: Message, query: str, intent: str, predicted: Prediction,
               rules: list[RuleMatch], top_score: float, leans: bool = False, talking: bool = False,
               tells_new: bool = True) -> str:
        """The route: a stated condition is a safety question, unless the intent model takes what is
        asked for a topic the guides do not cover; small talk and questions the guides do not cover
        are recognised; everything else is retrieval. A short follow-up of a topic the
        guides cover is refused only when it names a topic they do not; in a conversation, a message
        asking nothing that the guides do not cover is an aside ("brb, he's making tea")."""
        cfg = self.config
        if rules and not tells_new and not message.asks and self.reads_as_small_talk(predicted):
            return SMALLTALK  # the conditions it names are held already, and it asks nothing
        if rules:
            # "which moisturiser brand is best for eczema": what is asked the guides do not cover;
            # refused, with the warnings of what it says (the answer shows them all the same)
            # (a statement, "she has a slipped disk", asks for nothing: a safety question whatever the model says)
            return ABSTAIN if message.asks and predicted.out_of_scope >= cfg.router_oos_over_condition else SAFETY
        if not any(ch.isalnum() for ch in message.text):
            return SMALLTALK  # "👍", "?!": nothing asked
        if not message.asks and self.reads_as_small_talk(predicted):
            return SMALLTALK  # "thanks, that's him done": small talk by its words, and nothing asked
        if leans and not self.names_out_of_scope(message) and top_score > 0:
            return RETRIEVAL
        if (intent == self.smalltalk and predicted.confidence >= cfg.router_smalltalk_confidence
                and top_score < cfg.router_oos_max_score and not (message.asks and message.areas)):
            return SMALLTALK  # (not a question about a part of the body: "...her upper back is stiff. how do i help")
        if talking and not message.asks and (top_score < cfg.router_abstain_score or self.named_out_of_scope(message.text)
                                             or self.intents.has_role(predicted.intent, "not_covered")):
            return SMALLTALK  # a topic the guides lack, said in passing ("my cat just walked on the keyboard")
        if self.names_out_of_scope(message):
            return ABSTAIN
        if top_score < cfg.router_abstain_score and not self.placed_in_scope(predicted, top_score):
            return ABSTAIN
        if self.scope is not None:
            ids, weights = self.index.router.vector(message.asked)
            # the same measures the model was fitted on (fit_scope.feature_matrix)
            return ABSTAIN if self.scope.probability(self.scope_coef, ids, weights, self.evidence(message)) >= self.scope.threshold else RETRIEVAL
        if self.guessed_out_of_scope(message.asked, intent, predicted.out_of_scope, top_score):
            return ABSTAIN
        return RETRIEVAL

    def placed_in_scope(self, predicted: Prediction, top_score: float) -> bool:
        """Whether the intent model places a question the guides' words barely meet on one of their
        topics, and not outside them ("how often shud i be doin my hubbys back, he does 12hr shifts"):
        it is answered from the best match rather than refused (with nothing matched, it is refused)."""
        cfg = self.config
        return (top_score > 0 and predicted.confidence >= cfg.router_min_confidence
                and predicted.out_of_scope < cfg.router_oos_confidence
                and not self.intents.has_role(predicted.intent, "vague", "not_covered", "small_talk"))

    def evidence(self, message: Message) -> tuple[float, float, float, float]:
        """The scope model's evidence measures of a message (scope.NUMERIC)."""
        _, _, (oos,) = self.index.router.predict_with(message.asked, self.out_of_scope)
        return (self.index.best_lexical(message.text), float(self.has_foreign_words(message.text)), oos,
                float(self.named_out_of_scope(message.text)))

    def answer_intent(self, message: Message, intent: str, predicted: Prediction, rules: list[RuleMatch]) -> str:
        """With a condition stated, the answer is the warning (the safety-question intent) unless the
        question has a clear topic of its own and the condition only calls for care."""
        if not rules:
            return intent
        topical = not self.intents.has_role(intent, "vague", "not_covered", "small_talk") and (
            predicted.confidence >= self.config.router_topic_confidence or bool(predicted.carried))
        # "she's pregnant, what should i avoid" asks what the condition rules out
        avoid_for_condition = topical and self.intents[intent].asks_to_avoid_in(message.asked)
        if not topical or avoid_for_condition or any(r.verdict in ("stop", "avoid") for r in rules):
            return self.safety_question
        return intent

    def parts(self, message: Message, route: Route) -> tuple[Route, ...]:
        """The parts of a question asking several things on different topics, each routed on its
        own ("what oil should I use and how long should it last?"); () otherwise."""
        if route.route not in (RETRIEVAL, SAFETY):
            return ()
        routed, topics = [], set()
        for text in message.parts:
            part = self.route_one(read_message(text, self.config), None)
            # a part that states a condition is the safety block's business, not a topic of its own
            if (part.route in (RETRIEVAL, SAFETY)
                    and not (part.intent == self.safety_question and part.route == SAFETY)
                    and part.intent_confidence >= self.config.router_topic_confidence
                    and (part.intent, part.sense) not in topics):
                routed.append(replace(part, carried=route.carried))
                topics.add((part.intent, part.sense))
        # a vague part ("any tips?") is answered beside a topical one, never on its own
        return tuple(routed) if len(routed) > 1 and {intent for intent, _ in topics} - {self.vague} else ()

    # -- scope -------------------------------------------------------------------------------
    def names_out_of_scope(self, message: Message) -> bool:
        """Whether a message names a topic the guides never cover in the clauses that ask ("...just had
        a bath. so how do i do her shoulders?" does not), or says such a thing of the person massaged
        anywhere ("my son is 12 and..." does)."""
        return self.named_out_of_scope(asking_clauses(message.text), message.text)

    def named_out_of_scope(self, asked: str, whole: str | None = None) -> bool:
        """A topic the guides never cover, named outright (data/intents.toml): a topic in what is
        `asked` (a bath, a price), or the person massaged anywhere in the `whole` message (a child of 12)."""
        spec = self.intents.get(self.out_of_scope)
        if not spec:
            return False
        whole = asked if whole is None else whole
        if any(p.search(asked) for p in spec.patterns) or any(p.search(whole) for p in spec.person_patterns):
            return True
        if any(p.search(asked) for p in spec.child_patterns):
            return True
        # a child said of in the story is the one massaged only when no adult is ("the baby's asleep, can i
        # give my wife a back rub"; "my son is 12... can i give him a back massage?" is the son's)
        return any(p.search(whole) for p in spec.child_patterns) and not names_an_adult(whole)

    def guessed_out_of_scope(self, query: str, intent: str, oos_probability: float, top_score: float) -> bool:
        """The router's say on scope, for a question the guides match only weakly. A question asked in
        words the guides or the thesaurus know ("is it ok if it hurts a little", "can we chat while
        i massage her") needs a surer verdict: in this chat it is most likely about massage. `query`:
        what is asked (the story before it may be in any words: "stressed with finals")."""
        cfg = self.config
        foreign = self.has_foreign_words(query)
        needed = cfg.router_oos_confidence if foreign else cfg.router_oos_confidence_familiar
        return ((oos_probability >= needed and top_score < cfg.router_oos_max_score)
                or (foreign and intent == self.out_of_scope and top_score < cfg.router_oos_guess_max_score))

    def has_foreign_words(self, text: str) -> bool:
        """Whether a question uses a word neither the guides nor the thesaurus know (a number, such
        as an age or a count, is no sign of a topic the guides lack)."""
        if self._domain_terms is None:
            analyzer = self.index.analyzer
            self._domain_terms = frozenset(self.index.vocabulary) | {
                analyzer.stems[w] for w in analyzer.thesaurus_words() if w in analyzer.stems}
        return any(t not in self._domain_terms and not t.isdigit() for t in self.index.analyzer.terms(text))

    # -- small talk ----------------------------------------------------------------------------
    def reads_as_small_talk(self, predicted: Prediction) -> bool:
        """Whether the intent model takes a message for small talk: its best guess, or likely enough
        though another intent scores higher ("cheers mate thats really helpful": benefits first)."""
        return predicted.intent == self.smalltalk or predicted.small_talk >= self.config.router_smalltalk_unasked

    def reply_kind(self, message: Message, predicted: Prediction) -> str:
        """Which fixed reply answers small talk: an aside ("brb") gets the aside reply; small talk
        proper, that of the example worded most like it (cosine in the intent model's feature space),
        unless it is worded like none of them (then it is an aside too)."""
        if not self.reads_as_small_talk(predicted):
            return "aside"
        text = message.text
        spec = self.intents.get(self.smalltalk)
        if not spec or not spec.replies:
            return ""
        router = self.index.router
        if self._reply_examples is None:  # each example's vector as {feature: weight}
            self._reply_examples = [(kind, dict(zip(*(a.tolist() for a in router.vector(e)))))
                                    for kind, examples in spec.replies for e in examples]
        ids, weights = router.vector(text)
        said = list(zip(ids.tolist(), weights.tolist()))
        best, kind = -1.0, spec.replies[0][0]
        for name, example in self._reply_examples:
            cosine = sum(w * example.get(i, 0.0) for i, w in said)
            if cosine > best:
                best, kind = cosine, name
        return kind if best >= self.config.router_reply_min_similarity else "aside"
