"""URL routes; errors outside the views are JSON too."""

from django.urls import path

from shop import views

urlpatterns = [
    path("health", views.health),
    path("customers", views.CustomerCollectionView.as_view()),
    path("customers/<str:pk>", views.CustomerDetailView.as_view()),
    path("customers/<str:pk>/orders", views.CustomerOrdersView.as_view()),
    path("products", views.ProductCollectionView.as_view()),
    path("products/<str:pk>", views.ProductDetailView.as_view()),
    path("orders", views.OrderCollectionView.as_view()),
    path("orders/<str:pk>", views.OrderDetailView.as_view()),
]

handler400 = "shop.views.bad_request"
handler404 = "shop.views.page_not_found"
handler500 = "shop.views.server_error"
