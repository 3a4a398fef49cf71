"""A city's notification subscriptions (admins) and the log of what was delivered (operators)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from signalight.api.deps import CITY_ERRORS, AdminCity, ContainerDep, OperatorCity
from signalight.api.notification_schemas import (
    DeliveryOut,
    DeliveryPage,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPatch,
)
from signalight.api.pagination import MAX_LIMIT, decode_cursor, encode_cursor
from signalight.api.params import SubscriptionId, query_id
from signalight.api.schemas import ErrorOut
from signalight.domain.notifications import DeliveryQuery, DeliveryStatus, Subscription
from signalight.services.subscriptions import (
    SubscriptionRequest,
)

router = APIRouter(tags=["notifications"], responses=CITY_ERRORS)

_ONE = "/cities/{city}/subscriptions/{subscription_id}"


def _created(subscription: Subscription) -> SubscriptionCreated:
    out = SubscriptionOut.model_validate(subscription).model_dump()
    return SubscriptionCreated(**out, secret=subscription.secret)


@router.get("/cities/{city}/subscriptions", response_model=list[SubscriptionOut])
def list_subscriptions(city: AdminCity, container: ContainerDep) -> list[SubscriptionOut]:
    """The city's subscriptions (admin), without their secrets."""
    found = container.subscriptions.all(city)
    return [SubscriptionOut.model_validate(s) for s in found]


@router.post(
    "/cities/{city}/subscriptions",
    response_model=SubscriptionCreated,
    status_code=201,
    responses={422: {"model": ErrorOut}},
)
def add_subscription(
    city: AdminCity, body: SubscriptionIn, container: ContainerDep
) -> SubscriptionCreated:
    """Subscribe a webhook or an e-mail address (admin); a webhook's secret is shown this once."""
    subscription = container.subscriptions.add(city, SubscriptionRequest(**body.model_dump()))
    return _created(subscription)


@router.get(_ONE, response_model=SubscriptionOut, responses={404: {"model": ErrorOut}})
def get_subscription(
    city: AdminCity, subscription_id: SubscriptionId, container: ContainerDep
) -> SubscriptionOut:
    """One subscription (admin)."""
    found = container.subscriptions.get(city, subscription_id)
    return SubscriptionOut.model_validate(found)


@router.patch(
    _ONE,
    response_model=SubscriptionOut,
    responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def update_subscription(
    city: AdminCity,
    subscription_id: SubscriptionId,
    body: SubscriptionPatch,
    container: ContainerDep,
) -> SubscriptionOut:
    """Change a subscription (admin); disabling it fails its pending deliveries."""
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    changed = container.subscriptions.change(city, subscription_id, changes)
    return SubscriptionOut.model_validate(changed)


@router.post(
    f"{_ONE}/secret",
    response_model=SubscriptionCreated,
    responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def new_secret(
    city: AdminCity, subscription_id: SubscriptionId, container: ContainerDep
) -> SubscriptionCreated:
    """Give a webhook subscription a new secret (admin), shown this once; the old one stops."""
    return _created(container.subscriptions.rotate(city, subscription_id))


@router.delete(_ONE, status_code=204, responses={404: {"model": ErrorOut}})
def delete_subscription(
    city: AdminCity, subscription_id: SubscriptionId, container: ContainerDep
) -> Response:
    """Remove a subscription and its delivery log (admin)."""
    container.subscriptions.remove(city, subscription_id)
    return Response(status_code=204)


@router.get("/cities/{city}/deliveries", response_model=DeliveryPage)
def list_deliveries(
    city: OperatorCity,
    container: ContainerDep,
    status: DeliveryStatus | None = None,
    subscription: Annotated[int | None, query_id("Only this subscription's deliveries")] = None,
    alarm: Annotated[int | None, query_id("Only deliveries about this alarm")] = None,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> DeliveryPage:
    """The city's delivery log (operator), newest first: each attempt's outcome and the retries."""
    before = decode_cursor(cursor) or None
    query = DeliveryQuery(
        status=status, subscription_id=subscription, alarm_id=alarm, before_id=before, limit=limit
    )
    page = container.subscriptions.deliveries(city, query)
    return DeliveryPage(
        items=[DeliveryOut.model_validate(d) for d in page.items],
        next_cursor=encode_cursor(page.next_after),
    )
