"""Notifications across two real workers: caused on one, delivered live on the other;
after a reconnect to the other worker with `since`, exactly what was missed; and never
anything of another user's."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.bot.support import conversation
from tests.care.support import doctor, share
from tests.notifications.test_notifications import inbox, next_notification
from tests.support import Api

pytestmark = pytest.mark.processes


async def test_notifications_cross_workers_and_resume_on_the_other_one(
    apis: tuple[Api, Api], schema: AsyncEngine
) -> None:
    on_a, on_b = apis
    asha, ravi = await on_a.user("Asha"), await on_a.user("Ravi")
    doc = await doctor(on_a, schema, "Dr. Quill")
    medic, bystander = await inbox(on_b, doc), await inbox(on_b, ravi)
    room = await conversation(on_a, asha)
    await share(on_a, asha, room, doc, "participate")  # on worker A
    shared = await next_notification(medic)  # on worker B
    assert (shared["kind"], shared["seq"], shared["room_id"]) == ("conversation_shared", 1, room)
    await medic.close()

    # Away: the patient revokes and shares again (worker A); the doctor comes back on A.
    r = await on_a.http.delete(f"/api/v1/rooms/{room}/shares/{doc.id}", headers=asha.headers)
    assert r.status_code == 204
    await share(on_a, asha, room, doc, "read")
    back = await on_a.ws(doc)
    reply = await back.request({"type": "subscribe", "channel": f"user:{doc.id}", "since": 1})
    assert reply["type"] == "subscribed"
    missed = [await next_notification(back), await next_notification(back)]
    assert [(n["seq"], n["kind"]) for n in missed] == [
        (2, "share_revoked"),
        (3, "conversation_shared"),
    ]
    # Ravi, on worker B all along, got nothing of the doctor's: his first is his own.
    other = await conversation(on_a, ravi)
    await share(on_a, ravi, other, doc, "participate")
    await on_a.post(doc, other, "Hello Ravi")
    mine = await next_notification(bystander)
    assert mine["channel"] == f"user:{ravi.id}" and mine["kind"] == "doctor_replied"
    await back.close()
    await bystander.close()
