"""URL routes; errors outside the views are JSON too."""

from django.urls import path

from items import views

urlpatterns = [
    path("health", views.health),
    path("v1/items", views.ItemCollectionView.as_view(), name="item-list"),
    path("v1/items/<str:item_id>", views.ItemDetailView.as_view(), name="item-detail"),
]

handler400 = "items.views.bad_request"
handler404 = "items.views.page_not_found"
handler500 = "items.views.server_error"
