"""Views of the customers, products and orders resources, plus the JSON error handlers."""

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.views import View
from django.views.decorators.http import require_GET

from . import validation
from .errors import ApiError, Conflict, NotFound, error_response
from .models import Customer, Order, OrderItem, Product
from .services import place_order


class ApiView(View):
    """Turns ApiError into its JSON error response; 405 is JSON too."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return super().dispatch(request, *args, **kwargs)
        except ApiError as error:
            return error.response()

    def http_method_not_allowed(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = error_response(405, "method_not_allowed", "The method is not allowed for this URL.")
        response["Allow"] = ", ".join(method.upper() for method in self._allowed_methods())
        return response


def page_of(queryset: Any, request: HttpRequest) -> JsonResponse:
    """One page of `queryset` as {"items": [...], "total": N}."""
    limit, offset = validation.paging(request.GET)
    total = queryset.count()
    rows = queryset[offset : offset + limit] if offset < total else []
    return JsonResponse({"items": [row.to_json() for row in rows], "total": total})


def lines_prefetch() -> Prefetch:
    return Prefetch("lines", queryset=OrderItem.objects.order_by("position"))


class CustomerCollectionView(ApiView):
    def get(self, request: HttpRequest) -> JsonResponse:
        return page_of(Customer.objects.order_by("pk"), request)

    def post(self, request: HttpRequest) -> JsonResponse:
        data = validation.json_object(request)
        email = validation.email("email", validation.required(data, "email"))
        name = validation.text("name", validation.required(data, "name"), 200)
        try:
            with transaction.atomic():
                customer = Customer.objects.create(email=email, name=name)
        except IntegrityError:
            raise Conflict("That email is already used by another customer.") from None
        return JsonResponse(customer.to_json(), status=201)


def get_customer(pk: str) -> Customer:
    customer = Customer.objects.filter(pk=validation.path_id(pk)).first()
    if customer is None:
        raise NotFound("No customer with that id.")
    return customer


class CustomerDetailView(ApiView):
    def get(self, request: HttpRequest, pk: str) -> JsonResponse:
        return JsonResponse(get_customer(pk).to_json())

    def delete(self, request: HttpRequest, pk: str) -> HttpResponse:
        customer_id = validation.path_id(pk)
        try:
            with transaction.atomic():
                customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
                if customer is None:
                    raise NotFound("No customer with that id.")
                if customer.orders.exists():
                    raise Conflict("The customer has orders and is kept.")
                customer.delete()
        except IntegrityError:
            # An order was placed for the customer while it was being deleted.
            raise Conflict("The customer has orders and is kept.") from None
        return HttpResponse(status=204)


class CustomerOrdersView(ApiView):
    def get(self, request: HttpRequest, pk: str) -> JsonResponse:
        customer = get_customer(pk)
        orders = customer.orders.order_by("-created_at", "-pk").prefetch_related(lines_prefetch())
        items = [order.to_json(list(order.lines.all())) for order in orders]
        return JsonResponse({"items": items, "total": len(items)})


class ProductCollectionView(ApiView):
    def get(self, request: HttpRequest) -> JsonResponse:
        name = validation.name_filter(request.GET)
        products = Product.objects.order_by("pk")
        if name:
            products = products.filter(name__icontains=name)
        return page_of(products, request)

    def post(self, request: HttpRequest) -> JsonResponse:
        data = validation.json_object(request)
        product = Product.objects.create(
            name=validation.text("name", validation.required(data, "name"), 200),
            price=validation.price("price", validation.required(data, "price")),
            stock=validation.integer("stock", validation.required(data, "stock"), 0, validation.MAX_UNITS),
        )
        return JsonResponse(product.to_json(), status=201)


class ProductDetailView(ApiView):
    def get(self, request: HttpRequest, pk: str) -> JsonResponse:
        product = Product.objects.filter(pk=validation.path_id(pk)).first()
        if product is None:
            raise NotFound("No product with that id.")
        return JsonResponse(product.to_json())


class OrderCollectionView(ApiView):
    def post(self, request: HttpRequest) -> JsonResponse:
        data = validation.json_object(request)
        customer_id = validation.integer(
            "customer_id", validation.required(data, "customer_id"), -validation.BIGINT_MAX, validation.BIGINT_MAX
        )
        lines = validation.order_lines(validation.required(data, "items"))
        order, order_lines = place_order(customer_id, lines)
        return JsonResponse(order.to_json(order_lines), status=201)


class OrderDetailView(ApiView):
    def get(self, request: HttpRequest, pk: str) -> JsonResponse:
        order = Order.objects.prefetch_related(lines_prefetch()).filter(pk=validation.path_id(pk)).first()
        if order is None:
            raise NotFound("No order with that id.")
        return JsonResponse(order.to_json(list(order.lines.all())))


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def bad_request(request: HttpRequest, exception: Exception) -> JsonResponse:
    return error_response(400, "bad_request", "The request could not be understood.")


def page_not_found(request: HttpRequest, exception: Exception) -> JsonResponse:
    return error_response(404, "not_found", "No such URL.")


def server_error(request: HttpRequest) -> JsonResponse:
    return error_response(500, "internal_error", "Internal server error.")
