"""Images as models send them: normalised when the meaning is clear, else refused.

Every refusal names the image's index and happens before anything is sent.
"""

import base64

import pytest
from mcp import Client

from ._helpers import error, ok, tiny_png

pytestmark = pytest.mark.anyio

PNG = tiny_png()
STANDARD = base64.b64encode(PNG).decode()


async def _create_with(client: Client, images: list[object]) -> tuple[bool, str]:
    """Try a create with these images; (created?, error text)."""
    catalog = await ok(client, "list_repositories", {})
    before = (await ok(client, "list_replicas", {}))["total"]
    result = await client.call_tool(
        "create_replica",
        {
            "name": "with-images",
            "message": "Match the mock-up",
            "repository_ids": [catalog["repositories"][0]["id"]],
            "images": images,
        },
    )
    after = (await ok(client, "list_replicas", {}))["total"]
    text = " ".join(getattr(c, "text", "") for c in result.content)
    assert (after == before + 1) == (not result.is_error)
    return not result.is_error, text


@pytest.mark.parametrize(
    "image",
    [
        {"data": STANDARD, "media_type": "image/png"},
        {"data": f"data:image/png;base64,{STANDARD}"},
        {"data": base64.urlsafe_b64encode(PNG).decode().rstrip("=")},
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": STANDARD},
        },
        {"url": "https://example.com/mock-up.png"},
    ],
    ids=["base64", "data-uri", "url-safe-unpadded", "api-shape", "url"],
)
async def test_images_in_any_clear_form_are_accepted(
    mcp_client: Client, image: dict[str, object]
) -> None:
    if (
        "data" in image
        and "media_type" not in image
        and not str(image["data"]).startswith("data:")
    ):
        image = image | {"media_type": "image/png"}

    created, text = await _create_with(mcp_client, [image])

    assert created, text


@pytest.mark.parametrize(
    ("image", "says"),
    [
        ({"data": "not base64 at all!", "media_type": "image/png"}, "not valid base64"),
        (
            {"data": STANDARD[: len(STANDARD) // 2], "media_type": "image/png"},
            "cut short",
        ),
        ({"data": STANDARD, "media_type": "image/bmp"}, "media_type must be one of"),
        ({"data": STANDARD, "media_type": "image/jpeg"}, "not a whole image/jpeg"),
        ({"data": STANDARD}, "none was given"),
        (
            {
                "data": base64.b64encode(b"x" * (6 * 1024 * 1024)).decode(),
                "media_type": "image/png",
            },
            "at most 5 MiB",
        ),
        ({"url": "ftp://example.com/x.png"}, "http:// or https://"),
        ({"url": "https://example.com/x.png", "data": STANDARD}, "give one of them"),
        (
            {"data": f"data:image/gif;base64,{STANDARD}", "media_type": "image/png"},
            "data: URI says image/gif",
        ),
    ],
    ids=[
        "not-base64",
        "truncated",
        "unknown-type",
        "wrong-type",
        "no-type",
        "oversize",
        "ftp-url",
        "url-and-data",
        "type-clash",
    ],
)
async def test_bad_images_are_refused_naming_their_index(
    mcp_client: Client, image: dict[str, object], says: str
) -> None:
    good = {"data": STANDARD, "media_type": "image/png"}

    created, text = await _create_with(mcp_client, [good, image])

    assert not created
    assert "images[1]" in text and says in text


async def test_too_many_images_are_refused(mcp_client: Client) -> None:
    image = {"data": STANDARD, "media_type": "image/png"}

    created, text = await _create_with(mcp_client, [image] * 11)

    assert not created and "at most 10" in text


async def test_send_message_checks_images_the_same_way(mcp_client: Client) -> None:
    text = await error(
        mcp_client,
        "send_message",
        {
            "replica_id": "00000000-0000-4000-8000-000000000000",
            "message": "See this",
            "images": [{"data": "%%%", "media_type": "image/png"}],
        },
    )

    assert "images[0].data is not valid base64" in text
