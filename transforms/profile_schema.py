"""The profile an LLM writes, as pydantic models: its JSON schema and its validation.

The profile is hierarchical, after Lin & Wei (2026): common identity (shared values, worldview,
collective identity), common bond (tone and stances, interaction style, bonding dynamics) and a
one-sentence summary. ``PROFILE_SCHEMA`` is what the LLM is asked to follow (OpenAI strict
json_schema); ``validate_profile`` checks an answer against the same models.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

# a value the LLM writes: stripped, never empty
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CommonIdentity(_Strict):
    """What members share: values, worldview, who they take themselves to be."""

    shared_values: Text = Field(description="What the community values.")
    worldview: Text = Field(description="How members see their topic.")
    collective_identity: Text = Field(description="Who the members take themselves to be.")


class CommonBond(_Strict):
    """How members relate: tone, interaction style, bonding dynamics."""

    tone_and_stances: Text = Field(description="Typical tone and stances.")
    interaction_style: Text = Field(description="How members talk to each other.")
    bonding_dynamics: Text = Field(description="What ties members together.")


class Profile(_Strict):
    """The hierarchical profile an LLM writes (Lin & Wei, 2026)."""

    common_identity: CommonIdentity
    common_bond: CommonBond
    summary: Text = Field(description="One sentence, e.g. 'programmers who value productivity'.")


IDENTITY_FIELDS = tuple(CommonIdentity.model_fields)
BOND_FIELDS = tuple(CommonBond.model_fields)


def strict_schema(model: type[BaseModel]) -> dict:
    """``model``'s JSON schema in the subset OpenAI's strict json_schema mode accepts.

    Nested models are inlined (no $defs: llama.cpp-style servers get one plain schema), titles
    dropped, and length constraints removed (strict mode rejects them; pydantic still checks
    them on our side). extra="forbid" already gives additionalProperties false, and fields
    without defaults are all required.
    """
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def clean(node):
        if isinstance(node, dict):
            if "$ref" in node:
                return clean(defs[node["$ref"].rsplit("/", 1)[1]])
            dropped = {"title", "minLength", "maxLength"}
            return {k: clean(v) for k, v in node.items() if k not in dropped}
        return [clean(v) for v in node] if isinstance(node, list) else node

    return clean(schema)


PROFILE_SCHEMA = strict_schema(Profile)


def validate_profile(data) -> list[str]:
    """Problems with an LLM answer against ``Profile``: pydantic's errors, each as
    "<path>: <message>" (empty list = valid)."""
    try:
        Profile.model_validate(data)
    except ValidationError as exc:
        return [
            f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}" for e in exc.errors()
        ]
    return []


def profile_from_llm(data: dict) -> dict:
    """The profile JSON carried by task instances, from a validated LLM answer (stripped)."""
    return {"profile_method": "llm", **Profile.model_validate(data).model_dump()}
