learning_rate = 0.01
n_iters = 10
for epoch in range(n_iters):
    # prediction = forward pass
    y_pred =forward(X)

    # loss
    l = loss(Y, y_pred)

    # gradients
    dw = gradient(X, Y, y_pred)
    #update weights into negative direction of gradients
    w -= learning_rate * dw

    if epoch % 1 ==0:
        print(f'epoch {epoch+1}: w = {w:.3f}, loss = {l:.8f} ')

print(f"prediction after training: f(5){forward(5):.3f}")
